package gitrepo

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/go-git/go-git/v5"
	"golang.org/x/crypto/ssh"

	"github.com/landform/landform"
)

// Signer signs ledger commits (WithLedgerSigner). Sign returns the
// signature of message, the commit object without its signature header,
// armored as git stores it in the commit's gpgsig header: an OpenPGP
// detached signature or an SSH signature (SSHSIG). It is the method of
// go-git's git.Signer, so a Signer signs go-git's own commits too.
type Signer interface {
	Sign(message io.Reader) ([]byte, error)
}

var (
	_ git.Signer = (*pgpSigner)(nil)
	_ git.Signer = (*sshSigner)(nil)
)

// maxKeyFile bounds what LoadSigner reads: a key file is a few KiB, and a
// path to something else (a device, a log) must not be read whole.
const maxKeyFile = 1 << 20

// LoadSigner returns the Signer of the private key in the file at path,
// decrypted with passphrase when the key is encrypted (an empty passphrase
// is none). The file's first line says what it is:
//
//   - "-----BEGIN PGP PRIVATE KEY BLOCK-----": an armored OpenPGP private
//     key, as `gpg --export-secret-keys --armor` writes it. It must hold one
//     key whose signing key (the newest valid signing subkey, else the
//     primary key) has its secret part in the file. Signatures are ASCII-
//     armored detached signatures, as `git commit -S` with gpg makes them.
//   - "-----BEGIN OPENSSH PRIVATE KEY-----" (ssh-keygen's format), or the
//     PEM forms "RSA PRIVATE KEY", "EC PRIVATE KEY" and "PRIVATE KEY"
//     (PKCS#8): an Ed25519, ECDSA (P-256, P-384, P-521) or RSA key.
//     Signatures are SSHSIG signatures of namespace "git" with SHA-512, as
//     `git commit -S` with gpg.format=ssh makes them with `ssh-keygen -Y
//     sign -n git`: for Ed25519 and RSA keys (signing with rsa-sha2-512),
//     whose signatures are deterministic, the same bytes.
//
// The Signers print (with fmt) as the key's kind and fingerprint.
//
// Errors: EINVALID naming the file, never its content, when the file
// cannot be read or is over 1 MiB, when it holds no private key of a kind
// above (a public key, garbage, a hardware-backed "sk-" SSH key, a gpg
// stub whose secret is on a smartcard), when the key is encrypted and the
// passphrase is empty or wrong, or when an OpenPGP key has no valid signing
// key (expired, revoked, or none with the signing flag).
func LoadSigner(path string, passphrase []byte) (Signer, error) {
	data, err := readKeyFile(path)
	if err != nil {
		return nil, err
	}
	first, _, _ := bytes.Cut(bytes.TrimLeft(data, " \t\r\n"), []byte("\n"))
	switch header := string(bytes.TrimSpace(first)); header {
	case "-----BEGIN PGP PRIVATE KEY BLOCK-----":
		return loadPGPSigner(path, data, passphrase)
	case "-----BEGIN OPENSSH PRIVATE KEY-----", "-----BEGIN RSA PRIVATE KEY-----",
		"-----BEGIN EC PRIVATE KEY-----", "-----BEGIN PRIVATE KEY-----":
		return loadSSHSigner(path, data, passphrase)
	case "-----BEGIN PGP PUBLIC KEY BLOCK-----":
		return nil, landform.Errorf(landform.EINVALID, "signing key %s is an OpenPGP public key; a private key is needed", path)
	default:
		if _, _, _, _, err := ssh.ParseAuthorizedKey(data); err == nil {
			return nil, landform.Errorf(landform.EINVALID, "signing key %s is an SSH public key; a private key is needed", path)
		}
		return nil, landform.Errorf(landform.EINVALID, "signing key %s: unknown format; want an armored OpenPGP private key or an OpenSSH private key", path)
	}
}

// readKeyFile reads the key file at path, up to maxKeyFile bytes.
func readKeyFile(path string) ([]byte, error) {
	if path == "" {
		return nil, landform.Errorf(landform.EINVALID, "no signing key file")
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, landform.Errorf(landform.EINVALID, "signing key %s: %w", path, pathCause(err))
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, landform.Errorf(landform.EINVALID, "signing key %s: %w", path, pathCause(err))
	}
	if len(data) > maxKeyFile {
		return nil, landform.Errorf(landform.EINVALID, "signing key %s is over 1 MiB: not a key file", path)
	}
	return data, nil
}

// pathCause strips the operation and path from an *fs.PathError, which
// the messages name already.
func pathCause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// pgpSigner signs with an OpenPGP key.
type pgpSigner struct {
	entity *openpgp.Entity
	key    *packet.PublicKey // the signing key, the primary key or a subkey
	config *packet.Config
}

func loadPGPSigner(path string, data, passphrase []byte) (Signer, error) {
	// ReadArmoredKeyRing reads the first armored block only.
	if n := bytes.Count(data, []byte("-----BEGIN PGP ")); n > 1 {
		return nil, landform.Errorf(landform.EINVALID, "signing key %s holds %d armored OpenPGP blocks; want one", path, n)
	}
	entities, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(data))
	if err != nil {
		return nil, landform.Errorf(landform.EINVALID, "signing key %s: not a valid OpenPGP key: %w", path, err)
	}
	var secret []*openpgp.Entity
	for _, e := range entities {
		if e.PrivateKey != nil {
			secret = append(secret, e)
		}
	}
	if len(secret) != 1 {
		return nil, landform.Errorf(landform.EINVALID, "signing key %s holds %d OpenPGP private keys; want one", path, len(secret))
	}
	e := secret[0]
	key, ok := e.SigningKey(time.Now())
	if !ok {
		return nil, landform.Errorf(landform.EINVALID, "signing key %s: OpenPGP key %X has no valid signing key (expired, revoked, or none may sign)", path, e.PrimaryKey.Fingerprint)
	}
	if key.PrivateKey == nil || key.PrivateKey.Dummy() {
		return nil, landform.Errorf(landform.EINVALID, "signing key %s: the secret of OpenPGP signing key %X is not in the file (a gpg stub, such as a smartcard key's)", path, key.PublicKey.Fingerprint)
	}
	if key.PrivateKey.Encrypted {
		if len(passphrase) == 0 {
			return nil, landform.Errorf(landform.EINVALID, "signing key %s is encrypted and no passphrase was given", path)
		}
		if err := key.PrivateKey.Decrypt(passphrase); err != nil {
			return nil, landform.Errorf(landform.EINVALID, "signing key %s: cannot decrypt it with the passphrase given (%v)", path, err)
		}
	}
	// Pin the key chosen now: at signing time go-crypto would choose again.
	return &pgpSigner{entity: e, key: key.PublicKey, config: &packet.Config{SigningKeyId: key.PublicKey.KeyId}}, nil
}

// Sign returns an ASCII-armored detached signature of message.
func (s *pgpSigner) Sign(message io.Reader) ([]byte, error) {
	var b bytes.Buffer
	if err := openpgp.ArmoredDetachSign(&b, s.entity, message, s.config); err != nil {
		return nil, landform.Errorf(landform.EINVALID, "signing with %s: %w", s, err)
	}
	return b.Bytes(), nil
}

func (s *pgpSigner) String() string { return fmt.Sprintf("OpenPGP key %X", s.key.Fingerprint) }

// sshSigner signs with an SSH key, in the SSHSIG format of OpenSSH's
// PROTOCOL.sshsig.
type sshSigner struct {
	signer ssh.Signer
	// algo is the signature algorithm: rsa-sha2-512 for an RSA key, as
	// ssh-keygen uses (SHA-1 "ssh-rsa" signatures are refused by
	// verifiers), "" for the key's own.
	algo string
}

func loadSSHSigner(path string, data, passphrase []byte) (Signer, error) {
	// A passphrase is used only for a key that needs one.
	raw, err := ssh.ParseRawPrivateKey(data)
	var missing *ssh.PassphraseMissingError
	if errors.As(err, &missing) && len(passphrase) > 0 {
		raw, err = ssh.ParseRawPrivateKeyWithPassphrase(data, passphrase)
	}
	switch {
	case errors.As(err, &missing):
		return nil, landform.Errorf(landform.EINVALID, "signing key %s is encrypted and no passphrase was given", path)
	case errors.Is(err, x509.IncorrectPasswordError):
		return nil, landform.Errorf(landform.EINVALID, "signing key %s: cannot decrypt it with the passphrase given", path)
	case err != nil:
		return nil, landform.Errorf(landform.EINVALID, "signing key %s: not a valid SSH private key: %w", path, err)
	}
	var s sshSigner
	switch k := raw.(type) {
	case ed25519.PrivateKey, *ed25519.PrivateKey, *ecdsa.PrivateKey:
	case *rsa.PrivateKey:
		s.algo = ssh.KeyAlgoRSASHA512
	default:
		return nil, landform.Errorf(landform.EINVALID, "signing key %s: unsupported SSH key type %T; want Ed25519, ECDSA or RSA", path, k)
	}
	if s.signer, err = ssh.NewSignerFromKey(raw); err != nil {
		return nil, landform.Errorf(landform.EINVALID, "signing key %s: %w", path, err)
	}
	return &s, nil
}

// SSHSIG constants (PROTOCOL.sshsig): git signs in namespace "git", and
// ssh-keygen hashes with SHA-512 by default.
const (
	sshsigMagic     = "SSHSIG"
	sshsigVersion   = 1
	sshsigNamespace = "git"
	sshsigHash      = "sha512"
)

// Sign returns an armored SSHSIG signature of message.
func (s *sshSigner) Sign(message io.Reader) ([]byte, error) {
	h := sha512.New()
	if _, err := io.Copy(h, message); err != nil {
		return nil, err
	}
	// What is signed: the magic, namespace, reserved, hash algorithm and
	// the message's hash.
	signed := []byte(sshsigMagic)
	signed = appendSSHString(signed, []byte(sshsigNamespace))
	signed = appendSSHString(signed, nil)
	signed = appendSSHString(signed, []byte(sshsigHash))
	signed = appendSSHString(signed, h.Sum(nil))

	var sig *ssh.Signature
	var err error
	if as, ok := s.signer.(ssh.AlgorithmSigner); ok && s.algo != "" {
		sig, err = as.SignWithAlgorithm(rand.Reader, signed, s.algo)
	} else {
		sig, err = s.signer.Sign(rand.Reader, signed)
	}
	if err != nil {
		return nil, landform.Errorf(landform.EINVALID, "signing with %s: %w", s, err)
	}

	// The signature blob: the magic, version, public key, namespace,
	// reserved, hash algorithm and the signature.
	blob := []byte(sshsigMagic)
	blob = binary.BigEndian.AppendUint32(blob, sshsigVersion)
	blob = appendSSHString(blob, s.signer.PublicKey().Marshal())
	blob = appendSSHString(blob, []byte(sshsigNamespace))
	blob = appendSSHString(blob, nil)
	blob = appendSSHString(blob, []byte(sshsigHash))
	blob = appendSSHString(blob, ssh.Marshal(sig))
	return armorSSHSignature(blob), nil
}

func (s *sshSigner) String() string {
	pub := s.signer.PublicKey()
	return fmt.Sprintf("SSH key %s %s", pub.Type(), ssh.FingerprintSHA256(pub))
}

// appendSSHString appends b as an SSH string: its length (uint32, big
// endian), then its bytes.
func appendSSHString(dst, b []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(b)))
	return append(dst, b...)
}

// armorSSHSignature armors an SSHSIG blob as ssh-keygen does: base64 in
// lines of 70 columns between BEGIN and END lines.
func armorSSHSignature(blob []byte) []byte {
	const width = 70
	enc := base64.StdEncoding.EncodeToString(blob)
	var b bytes.Buffer
	b.WriteString("-----BEGIN SSH SIGNATURE-----\n")
	for len(enc) > width {
		b.WriteString(enc[:width])
		b.WriteByte('\n')
		enc = enc[width:]
	}
	b.WriteString(enc)
	b.WriteString("\n-----END SSH SIGNATURE-----\n")
	return b.Bytes()
}
