package config

import (
	"time"

	"gopkg.in/yaml.v3"

	"github.com/landform/landform"
)

// Web is the server config's dashboard settings:
//
//	web:
//	  anonymous: viewer    # none (default): every page needs a sign-in; viewer: read-only pages are open
//	  session_ttl: 12h     # how long a browser's sign-in lasts
//
// People sign in with an API token (config tokens or `landform token
// create`); its role decides what they may do.
type Web struct {
	// Anonymous is the role of a request without credentials: "" for
	// none (refused), or RoleViewer.
	Anonymous landform.Role
	// SessionTTL is how long a sign-in lasts; 0 for the default (12h).
	SessionTTL time.Duration
}

var webFields = []string{"anonymous", "session_ttl"}

// decodeWeb decodes the web mapping n at p.
func (sp *serverParser) decodeWeb(p string, n *yaml.Node) Web {
	d := sp.d
	var w Web
	d.object(n, p, webFields, func(name, fp string, _, v *yaml.Node) {
		switch name {
		case "anonymous":
			if s, ok := d.str(v, fp); ok {
				switch s {
				case "none":
				case string(landform.RoleViewer):
					w.Anonymous = landform.RoleViewer
				default:
					d.errorf(v, fp, "want none or viewer (anonymous people never act), got %q", s)
				}
			}
		case "session_ttl":
			if ttl, ok := d.duration(v, fp); ok {
				if ttl < time.Minute || ttl > 30*24*time.Hour {
					d.errorf(v, fp, "want between 1m and 720h, got %s", v.Value)
				} else {
					w.SessionTTL = ttl
				}
			}
		}
	})
	return w
}
