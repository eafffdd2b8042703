package config

import (
	"slices"

	"github.com/landform/landform"
	"gopkg.in/yaml.v3"
)

// The values of the server config's sandbox setting.
const (
	// SandboxRequired (the default) runs every terraform process in a
	// bubblewrap sandbox that sees only its run's files; the daemon
	// refuses to start where bubblewrap does not work.
	SandboxRequired = "required"
	// SandboxOff runs terraform as the daemon's own child.
	SandboxOff = "off"
)

// decodeSandbox reads the server config's sandbox at p: required or off.
func decodeSandbox(d *decoder, p string, v *yaml.Node) string {
	s, ok := d.str(v, p)
	if !ok {
		return SandboxRequired
	}
	switch s {
	case SandboxRequired, SandboxOff:
		return s
	}
	if sug := suggest(s, []string{SandboxRequired, SandboxOff}); sug != "" {
		d.errorf(v, p, "unknown sandbox setting %q, did you mean %q? (want required or off)", s, sug)
	} else {
		d.errorf(v, p, "unknown sandbox setting %q (want required or off)", s)
	}
	return SandboxRequired
}

// decodePassEnv reads the server config's terraform.pass_env at p: names
// of the daemon's environment variables terraform gets too; valid names,
// each once, none of them one Landform sets itself.
func decodePassEnv(d *decoder, p string, v *yaml.Node) []string {
	var out []string
	d.stringList(v, p, func(name, ip string, n *yaml.Node) {
		switch {
		case !envName.MatchString(name):
			d.errorf(n, ip, "%q is not a valid environment variable name", name)
		case reservedEnv[name] != "":
			d.errorf(n, ip, "%q cannot be passed through: %s", name, reservedEnv[name])
		case landform.EngineEnv(name):
			d.errorf(n, ip, "%q is set by Landform itself and cannot be passed through", name)
		case slices.Contains(out, name):
			d.errorf(n, ip, "%q listed twice", name)
		default:
			out = append(out, name)
		}
	})
	return out
}
