package config

import "gopkg.in/yaml.v3"

var ledgerFields = []string{"enabled", "signing_key_file", "signing_passphrase_env"}

// decodeLedger decodes the mapping form of the server's ledger setting.
func (sp *serverParser) decodeLedger(p string, n *yaml.Node, s *Server) {
	d := sp.d
	var passphrase *yaml.Node
	d.object(n, p, ledgerFields, func(name, fp string, k, v *yaml.Node) {
		switch name {
		case "enabled":
			if b, ok := d.boolean(v, fp); ok {
				s.Ledger = b
			}
		case "signing_key_file":
			s.LedgerSigningKeyFile = sp.path(fp, v)
		case "signing_passphrase_env":
			passphrase = k
			s.LedgerSigningPassphraseEnv = sp.envRef(fp, v)
		}
	})
	if passphrase != nil && s.LedgerSigningKeyFile == "" {
		d.errorf(passphrase, joinPath(p, "signing_passphrase_env"), "goes with signing_key_file, which is not set")
	}
}
