package gitrepo_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"golang.org/x/crypto/ssh"

	"github.com/landform/landform"
	"github.com/landform/landform/gitrepo"
)

// needTool fails the test when the program name is not on the PATH:
// scripts/setup installs it, and a skip would hide the verification.
func needTool(t *testing.T, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Fatalf("%s is not installed (scripts/setup installs it): %v", name, err)
	}
}

// sshKeygen makes a throwaway key with ssh-keygen in dir, encrypted with
// passphrase unless it is empty, and returns the private key's path and
// the public key's line.
func sshKeygen(t *testing.T, dir, name, passphrase string, args ...string) (string, string) {
	t.Helper()
	needTool(t, "ssh-keygen")
	key := filepath.Join(dir, name)
	args = append([]string{"-q", "-N", passphrase, "-C", name, "-f", key}, args...)
	if out, err := exec.Command("ssh-keygen", args...).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	pub, err := os.ReadFile(key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	return key, strings.TrimSpace(string(pub))
}

// allowedSigners writes an allowed signers file (ssh-keygen(1), ALLOWED
// SIGNERS) that lets the public keys pubs sign for landform@test in
// namespace git, and returns its path.
func allowedSigners(t *testing.T, dir string, pubs ...string) string {
	t.Helper()
	var b strings.Builder
	for _, pub := range pubs {
		fmt.Fprintf(&b, "landform@test namespaces=\"git\" %s\n", pub)
	}
	path := filepath.Join(dir, "allowed_signers")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func loadSigner(t *testing.T, path string, passphrase []byte) gitrepo.Signer {
	t.Helper()
	s, err := gitrepo.LoadSigner(path, passphrase)
	if err != nil {
		t.Fatalf("LoadSigner(%s): %v", path, err)
	}
	return s
}

// verifyCommit runs git verify-commit on sha in the git directory gitDir,
// with env added to the environment and gpg.ssh.allowedSignersFile set to
// allowed unless it is empty; it returns git's output and whether git
// accepted the signature.
func verifyCommit(t *testing.T, gitDir, allowed string, env []string, sha string) (string, bool) {
	t.Helper()
	args := []string{"--git-dir", gitDir}
	if allowed != "" {
		args = append(args, "-c", "gpg.format=ssh", "-c", "gpg.ssh.allowedSignersFile="+allowed)
	}
	cmd := exec.Command("git", append(args, "verify-commit", "-v", sha)...)
	cmd.Env = append(gitEnv(), env...)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("git verify-commit: %v", err)
	}
	return string(out), err == nil
}

// ledgerCommits returns the commits of the ledger branch in gitDir, each
// mapped to its author's name.
func ledgerCommits(t *testing.T, gitDir string) map[string]string {
	t.Helper()
	commits := map[string]string{}
	for _, line := range strings.Split(runGit(t, gitDir, "--git-dir", gitDir, "log", "--format=%H %an", ledger), "\n") {
		sha, author, _ := strings.Cut(line, " ")
		commits[sha] = author
	}
	return commits
}

// splitSignedCommit splits a raw commit object, as git cat-file prints
// it, into what was signed (the object without its gpgsig header) and the
// signature, the way git does before it verifies.
func splitSignedCommit(t *testing.T, raw string) (payload, sig string) {
	t.Helper()
	header, message, ok := strings.Cut(raw, "\n\n")
	if !ok {
		t.Fatalf("no message in commit object:\n%s", raw)
	}
	var kept, sigLines []string
	inSig := false
	for _, line := range strings.Split(header, "\n") {
		switch {
		case strings.HasPrefix(line, "gpgsig "):
			inSig = true
			sigLines = append(sigLines, strings.TrimPrefix(line, "gpgsig "))
		case inSig && strings.HasPrefix(line, " "):
			sigLines = append(sigLines, line[1:])
		default:
			inSig = false
			kept = append(kept, line)
		}
	}
	if sigLines == nil {
		t.Fatalf("commit object without a gpgsig header:\n%s", raw)
	}
	return strings.Join(kept, "\n") + "\n\n" + message, strings.Join(sigLines, "\n") + "\n"
}

// catCommit returns the raw commit object sha of gitDir, byte for byte.
func catCommit(t *testing.T, gitDir, sha string) string {
	t.Helper()
	cmd := exec.Command("git", "--git-dir", gitDir, "cat-file", "commit", sha)
	cmd.Env = gitEnv()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git cat-file commit %s: %v", sha, err)
	}
	return string(out)
}

// The SSH signatures are what ssh-keygen -Y sign writes (for Ed25519 and
// RSA, whose signatures are deterministic, byte for byte), and ssh-keygen
// -Y verify accepts them, for every kind of key.
func TestSSHSignerMatchesSSHKeygen(t *testing.T) {
	needTool(t, "ssh-keygen")
	message := []byte("tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor A <a@b> 1 +0000\ncommitter A <a@b> 1 +0000\n\nrecord run 1\n")
	for _, tc := range []struct {
		name       string
		args       []string
		passphrase string // the key's
		given      string // LoadSigner's
		same       bool   // byte for byte ssh-keygen's signature
	}{
		{name: "ed25519", args: []string{"-t", "ed25519"}, same: true},
		{name: "ed25519 encrypted", args: []string{"-t", "ed25519"}, passphrase: "correct horse", given: "correct horse", same: true},
		{name: "ed25519, passphrase not needed", args: []string{"-t", "ed25519"}, given: "unused", same: true},
		{name: "ecdsa p256", args: []string{"-t", "ecdsa", "-b", "256"}},
		{name: "ecdsa p521", args: []string{"-t", "ecdsa", "-b", "521"}},
		{name: "rsa", args: []string{"-t", "rsa", "-b", "2048"}, same: true},
		{name: "rsa in PEM", args: []string{"-t", "rsa", "-b", "2048", "-m", "PEM"}, same: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			key, pub := sshKeygen(t, dir, "key", tc.passphrase, tc.args...)
			msgFile := filepath.Join(dir, "message")
			if err := os.WriteFile(msgFile, message, 0o644); err != nil {
				t.Fatal(err)
			}
			s := loadSigner(t, key, []byte(tc.given))
			sig, err := s.Sign(bytes.NewReader(message))
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			lines := strings.Split(strings.TrimSuffix(string(sig), "\n"), "\n")
			if lines[0] != "-----BEGIN SSH SIGNATURE-----" || lines[len(lines)-1] != "-----END SSH SIGNATURE-----" {
				t.Errorf("signature not armored:\n%s", sig)
			}
			for _, l := range lines[1 : len(lines)-1] {
				if len(l) > 70 {
					t.Errorf("armor line of %d columns", len(l))
				}
			}
			if fp := ssh.FingerprintSHA256(parsePub(t, pub)); !strings.Contains(fmt.Sprint(s), fp) {
				t.Errorf("signer prints as %q, without its fingerprint %s", s, fp)
			}

			sigFile := filepath.Join(dir, "sig")
			if err := os.WriteFile(sigFile, sig, 0o644); err != nil {
				t.Fatal(err)
			}
			verify := exec.Command("ssh-keygen", "-Y", "verify", "-f", allowedSigners(t, dir, pub), "-I", "landform@test", "-n", "git", "-s", sigFile)
			verify.Stdin = bytes.NewReader(message)
			if out, err := verify.CombinedOutput(); err != nil {
				t.Errorf("ssh-keygen -Y verify: %v\n%s", err, out)
			}

			if tc.same {
				sign := exec.Command("ssh-keygen", "-Y", "sign", "-n", "git", "-f", key, msgFile)
				// ssh-keygen reads an encrypted key's passphrase from a
				// terminal only: use the decrypted copy.
				if tc.passphrase != "" {
					plain := filepath.Join(dir, "plain")
					copyFile(t, key, plain)
					if out, err := exec.Command("ssh-keygen", "-q", "-p", "-P", tc.passphrase, "-N", "", "-f", plain).CombinedOutput(); err != nil {
						t.Fatalf("ssh-keygen -p: %v\n%s", err, out)
					}
					sign.Args[len(sign.Args)-2] = plain
				}
				if out, err := sign.CombinedOutput(); err != nil {
					t.Fatalf("ssh-keygen -Y sign: %v\n%s", err, out)
				}
				want, err := os.ReadFile(msgFile + ".sig")
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(sig, want) {
					t.Errorf("signature:\n%s\nssh-keygen's:\n%s", sig, want)
				}
			}
		})
	}
}

func parsePub(t *testing.T, line string) ssh.PublicKey {
	t.Helper()
	pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// Ledger commits signed with an SSH key, the ones rebuilt on a tip a
// person or another daemon moved included, pass git verify-commit; a
// commit signed with a key the allowed signers file does not list fails.
func TestWriteLedgerSignedSSH(t *testing.T) {
	needTool(t, "ssh-keygen")
	keys := t.TempDir()
	key, pub := sshKeygen(t, keys, "landform", "", "-t", "ed25519")
	otherKey, _ := sshKeygen(t, keys, "other", "", "-t", "ed25519")
	allowed := allowedSigners(t, keys, pub)
	signer := loadSigner(t, key, nil)

	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			ctx := context.Background()
			s := newServed(t)
			remote := filepath.Join(s.base, "repo.git")
			prefix, opts := p.serve(t, s.base)
			open := func() *gitrepo.Repo {
				return openRemote(t, prefix+"repo.git", append(opts, gitrepo.WithDataDir(t.TempDir()))...)
			}
			r := open()
			l := newLedger(t, r, "", gitrepo.WithLedgerSigner(signer))
			sha1 := writeLedger(t, l, gitrepo.Signature{}, entry("one", "runs/a/1.md"))

			// A person pushes in between: the next write, made on the
			// clone's stale ref, is rejected, and rebuilt and signed again
			// on the person's commit.
			ext, err := externalCommit(remote, sha1, "manual/1.md")
			if err != nil {
				t.Fatal(err)
			}
			runGit(t, remote, "--git-dir", remote, "update-ref", "refs/heads/"+ledger, ext)
			sha2 := writeLedger(t, l, gitrepo.Signature{}, entry("two", "runs/a/2.md"))
			if got := runGit(t, remote, "--git-dir", remote, "rev-parse", sha2+"^"); got != ext {
				t.Errorf("second write's parent %s, want the person's commit %s", got, ext)
			}
			if st := watch(t, r).Stats(); st.Pushes != 3 {
				t.Errorf("%d pushes, want 3 (one rejected)", st.Pushes)
			}

			// Two daemons at once, each rebuilding on the other's commits.
			var wg sync.WaitGroup
			errs := make(chan error, 8)
			for d, l := range []*gitrepo.Ledger{
				newLedger(t, open(), "", gitrepo.WithLedgerSigner(signer)),
				newLedger(t, open(), "", gitrepo.WithLedgerSigner(signer)),
			} {
				for i := range 4 {
					wg.Go(func() {
						path := fmt.Sprintf("runs/d%d/%d.md", d, i)
						if _, err := l.Write(ctx, gitrepo.Signature{}, []gitrepo.LedgerEntry{entry(path, path)}); err != nil {
							errs <- err
						}
					})
				}
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}

			signed := 0
			for sha, author := range ledgerCommits(t, remote) {
				out, ok := verifyCommit(t, remote, allowed, nil, sha)
				switch author {
				case "Landform":
					signed++
					if !ok || !strings.Contains(out, `Good "git" signature for landform@test with ED25519 key`) {
						t.Errorf("ledger commit %s not verified:\n%s", sha, out)
					}
				default: // the person's, not signed
					if ok {
						t.Errorf("unsigned commit %s of %s verified:\n%s", sha, author, out)
					}
				}
			}
			if signed != 10 {
				t.Errorf("%d commits of Landform, want 10", signed)
			}
			if n := wantLinear(t, remote); n != 11 {
				t.Errorf("%d ledger commits, want 11", n)
			}
			show := runGit(t, remote, "--git-dir", remote, "-c", "gpg.ssh.allowedSignersFile="+allowed, "log", "--show-signature", "-1", ledger)
			if !strings.Contains(show, `Good "git" signature for landform@test`) {
				t.Errorf("git log --show-signature:\n%s", show)
			}

			// Signed with a key the allowed signers do not list.
			ol := newLedger(t, open(), "", gitrepo.WithLedgerSigner(loadSigner(t, otherKey, nil)))
			sha := writeLedger(t, ol, gitrepo.Signature{}, entry("other", "runs/other.md"))
			out, ok := verifyCommit(t, remote, allowed, nil, sha)
			if ok || !strings.Contains(out, "No principal matched") {
				t.Errorf("commit signed with another key: verified %v:\n%s", ok, out)
			}
		})
	}
}

// pgpKey makes an OpenPGP key (EdDSA, v4 as gpg 2.2 reads it) and returns
// it, its private key armored (encrypted with passphrase unless it is
// empty) and its public key armored.
func pgpKey(t *testing.T, name, email, passphrase string, config *packet.Config) (*openpgp.Entity, []byte, []byte) {
	t.Helper()
	if config == nil {
		config = &packet.Config{}
	}
	config.Algorithm = packet.PubKeyAlgoEdDSA
	e, err := openpgp.NewEntity(name, "", email, config)
	if err != nil {
		t.Fatal(err)
	}
	var pub bytes.Buffer
	w, err := armor.Encode(&pub, openpgp.PublicKeyType, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Serialize(w); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if passphrase != "" {
		if err := e.EncryptPrivateKeys([]byte(passphrase), nil); err != nil {
			t.Fatal(err)
		}
	}
	var priv bytes.Buffer
	w, err = armor.Encode(&priv, openpgp.PrivateKeyType, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.SerializePrivateWithoutSigning(w, nil); err != nil {
		t.Fatal(err)
	}
	w.Close()
	return e, priv.Bytes(), pub.Bytes()
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// gnupgHome returns a GNUPGHOME of its own for gpg, with the agent it may
// start stopped at the end of the test.
func gnupgHome(t *testing.T) string {
	t.Helper()
	home, err := os.MkdirTemp("", "gnupg")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := exec.LookPath("gpgconf"); err == nil {
			cmd := exec.Command("gpgconf", "--kill", "all")
			cmd.Env = append(os.Environ(), "GNUPGHOME="+home)
			cmd.Run()
		}
		os.RemoveAll(home)
	})
	return home
}

func runGPG(t *testing.T, home string, stdin []byte, args ...string) []byte {
	t.Helper()
	cmd := exec.Command("gpg", append([]string{"--batch", "--no-tty", "--quiet"}, args...)...)
	cmd.Env = append(os.Environ(), "GNUPGHOME="+home)
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("gpg %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out
}

// Ledger commits signed with an OpenPGP key carry a detached signature of
// the commit without its gpgsig header: go-crypto verifies it over the
// object git stores, and so does git verify-commit with gpg when gpg is
// installed. A commit signed with another key fails both.
func TestWriteLedgerSignedOpenPGP(t *testing.T) {
	keys := t.TempDir()
	entity, priv, pub := pgpKey(t, "Landform Test", "landform@test", "correct horse", nil)
	_, otherPriv, _ := pgpKey(t, "Other", "other@test", "", nil)
	signer := loadSigner(t, writeFile(t, keys, "ledger.asc", priv), []byte("correct horse"))
	if want := fmt.Sprintf("OpenPGP key %X", entity.PrimaryKey.Fingerprint); fmt.Sprint(signer) != want {
		t.Errorf("signer prints as %q, want %q", signer, want)
	}

	w := newWorkRepo(t)
	w.commit("first")
	gitDir := filepath.Join(w.dir, ".git")
	l := newLedger(t, openRepo(t, w.dir), "", gitrepo.WithLedgerSigner(signer))
	shas := []string{
		writeLedger(t, l, gitrepo.Signature{}, entry("one", "runs/a/1.md")),
		writeLedger(t, l, gitrepo.Signature{Name: "Ops Bot", Email: "ops@example.com"}, entry("two", "runs/a/2.md")),
	}
	other := writeLedger(t, newLedger(t, openRepo(t, w.dir), "", gitrepo.WithLedgerSigner(loadSigner(t, writeFile(t, keys, "other.asc", otherPriv), nil))),
		gitrepo.Signature{}, entry("other", "runs/other.md"))
	wantLinear(t, gitDir)

	// In Go, over the commit object as git stores it.
	keyring := openpgp.EntityList{entity}
	for _, sha := range shas {
		payload, sig := splitSignedCommit(t, catCommit(t, gitDir, sha))
		if !strings.HasPrefix(sig, "-----BEGIN PGP SIGNATURE-----") {
			t.Errorf("commit %s: signature not armored:\n%s", sha, sig)
		}
		if _, err := openpgp.CheckArmoredDetachedSignature(keyring, strings.NewReader(payload), strings.NewReader(sig), nil); err != nil {
			t.Errorf("commit %s: go-crypto does not verify its signature: %v", sha, err)
		}
	}
	payload, sig := splitSignedCommit(t, catCommit(t, gitDir, other))
	if _, err := openpgp.CheckArmoredDetachedSignature(keyring, strings.NewReader(payload), strings.NewReader(sig), nil); err == nil {
		t.Errorf("a commit signed with another key verified")
	}

	// With gpg, the way people will check (scripts/setup installs it).
	needTool(t, "gpg")
	home := gnupgHome(t)
	runGPG(t, home, pub, "--import")
	env := []string{"GNUPGHOME=" + home}
	for _, sha := range shas {
		if out, ok := verifyCommit(t, gitDir, "", env, sha); !ok || !strings.Contains(out, `Good signature from "Landform Test <landform@test>"`) {
			t.Errorf("git verify-commit %s with gpg: accepted %v\n%s", sha, ok, out)
		}
	}
	if out, ok := verifyCommit(t, gitDir, "", env, other); ok {
		t.Errorf("git verify-commit accepted a commit signed with a key it does not have:\n%s", out)
	}
	t.Logf("verified with go-crypto and with git verify-commit (gpg)")
}

// A key made and exported by gpg itself (Ed25519, encrypted by gpg's
// S2K) signs ledger commits that git verify-commit accepts.
func TestWriteLedgerSignedWithAGPGKey(t *testing.T) {
	needTool(t, "gpg")
	home := gnupgHome(t)
	pass := []string{"--pinentry-mode", "loopback", "--passphrase", "s3cret pass"}
	runGPG(t, home, nil, append(pass, "--quick-gen-key", "GPG User <gpg@test>", "ed25519", "sign", "never")...)
	priv := runGPG(t, home, nil, append(pass, "--armor", "--export-secret-keys", "gpg@test")...)
	key := writeFile(t, t.TempDir(), "gpg.asc", priv)

	_, err := gitrepo.LoadSigner(key, nil)
	wantCode(t, err, landform.EINVALID, "encrypted")
	signer := loadSigner(t, key, []byte("s3cret pass"))
	w := newWorkRepo(t)
	w.commit("first")
	sha := writeLedger(t, newLedger(t, openRepo(t, w.dir), "", gitrepo.WithLedgerSigner(signer)), gitrepo.Signature{}, entry("one", "runs/a/1.md"))
	out, ok := verifyCommit(t, filepath.Join(w.dir, ".git"), "", []string{"GNUPGHOME=" + home}, sha)
	if !ok || !strings.Contains(out, `Good signature from "GPG User <gpg@test>"`) {
		t.Errorf("git verify-commit: accepted %v\n%s", ok, out)
	}
}

func TestLoadSignerErrors(t *testing.T) {
	dir := t.TempDir()
	file := func(name string, data []byte) string { return writeFile(t, dir, name, data) }
	const secret = "s3cret-material"

	// SSH keys, made in Go so that this test needs no ssh-keygen.
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKeyWithPassphrase(priv, "k", []byte("correct horse"))
	if err != nil {
		t.Fatal(err)
	}
	encryptedSSH := file("ssh-encrypted", pem.EncodeToMemory(block))
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}

	_, encryptedPGP, pgpPub := pgpKey(t, "A", "a@test", "correct horse", nil)
	b, pgp1, _ := pgpKey(t, "B", "b@test", "", nil)
	c, pgp2, _ := pgpKey(t, "C", "c@test", "", nil)
	var twoKeys bytes.Buffer // in one armored block, as gpg exports them
	aw, err := armor.Encode(&twoKeys, openpgp.PrivateKeyType, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []*openpgp.Entity{b, c} {
		if err := e.SerializePrivateWithoutSigning(aw, nil); err != nil {
			t.Fatal(err)
		}
	}
	aw.Close()
	longAgo := time.Now().Add(-48 * time.Hour)
	_, expired, _ := pgpKey(t, "D", "d@test", "", &packet.Config{Time: func() time.Time { return longAgo }, KeyLifetimeSecs: 3600})

	for _, tc := range []struct {
		name       string
		path       string
		passphrase string
		msg        []string
		is         error
	}{
		{name: "missing", path: filepath.Join(dir, "missing"), msg: []string{"missing", "no such file"}, is: fs.ErrNotExist},
		{name: "no path", path: "", msg: []string{"no signing key file"}},
		{name: "a directory", path: dir, msg: []string{dir}},
		{name: "empty", path: file("empty", nil), msg: []string{"unknown format"}},
		{name: "garbage", path: file("garbage", []byte(secret+"\n")), msg: []string{"garbage", "unknown format"}},
		{name: "too large", path: file("large", bytes.Repeat([]byte(secret), 1<<17)), msg: []string{"over 1 MiB"}},
		{name: "garbage in an OpenSSH armor", path: file("bad-ssh", []byte("-----BEGIN OPENSSH PRIVATE KEY-----\n"+secret+"\n-----END OPENSSH PRIVATE KEY-----\n")), msg: []string{"bad-ssh", "not a valid SSH private key"}},
		{name: "garbage in an OpenPGP armor", path: file("bad-pgp", []byte("-----BEGIN PGP PRIVATE KEY BLOCK-----\n\n"+secret+"\n-----END PGP PRIVATE KEY BLOCK-----\n")), msg: []string{"bad-pgp", "not a valid OpenPGP key"}},
		{name: "SSH public key", path: file("key.pub", ssh.MarshalAuthorizedKey(sshPub)), msg: []string{"key.pub", "SSH public key"}},
		{name: "OpenPGP public key", path: file("pub.asc", pgpPub), msg: []string{"pub.asc", "OpenPGP public key"}},
		{name: "SSH encrypted, no passphrase", path: encryptedSSH, msg: []string{"ssh-encrypted", "encrypted and no passphrase"}},
		{name: "SSH encrypted, wrong passphrase", path: encryptedSSH, passphrase: secret, msg: []string{"ssh-encrypted", "cannot decrypt"}},
		{name: "OpenPGP encrypted, no passphrase", path: file("pgp-encrypted", encryptedPGP), msg: []string{"pgp-encrypted", "encrypted and no passphrase"}},
		{name: "OpenPGP encrypted, wrong passphrase", path: file("pgp-encrypted", encryptedPGP), passphrase: secret, msg: []string{"pgp-encrypted", "cannot decrypt"}},
		{name: "two OpenPGP keys", path: file("two.asc", twoKeys.Bytes()), msg: []string{"two.asc", "holds 2 OpenPGP private keys"}},
		{name: "two OpenPGP armors", path: file("two-armors.asc", append(append([]byte{}, pgp1...), pgp2...)), msg: []string{"two-armors.asc", "2 armored OpenPGP blocks"}},
		{name: "OpenPGP key expired", path: file("expired.asc", expired), msg: []string{"expired.asc", "no valid signing key"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := gitrepo.LoadSigner(tc.path, []byte(tc.passphrase))
			if s != nil {
				t.Errorf("LoadSigner returned a signer %v with its error", s)
			}
			wantCode(t, err, landform.EINVALID, tc.msg...)
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error %q shows the file's content or the passphrase", err)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %q is not %v", err, tc.is)
			}
		})
	}

	// The right passphrase.
	loadSigner(t, encryptedSSH, []byte("correct horse"))
	loadSigner(t, file("pgp-encrypted", encryptedPGP), []byte("correct horse"))

	w := newWorkRepo(t)
	w.commit("first")
	_, err = gitrepo.NewLedger(openRepo(t, w.dir), "", gitrepo.WithLedgerSigner(nil))
	wantCode(t, err, landform.EINVALID, "signer")
}

// failingSigner is a Signer whose key cannot sign.
type failingSigner struct{ err error }

func (s failingSigner) Sign(io.Reader) ([]byte, error) { return nil, s.err }

// A commit that cannot be signed is not written: Write fails, and the
// branch stays where it was.
func TestWriteLedgerSignerFails(t *testing.T) {
	w := newWorkRepo(t)
	w.commit("first")
	r := openRepo(t, w.dir)
	sha := writeLedger(t, newLedger(t, r, ""), gitrepo.Signature{}, entry("one", "runs/a/1.md"))
	boom := errors.New("key on strike")
	l := newLedger(t, r, "", gitrepo.WithLedgerSigner(failingSigner{boom}))
	if _, err := l.Write(context.Background(), gitrepo.Signature{}, []gitrepo.LedgerEntry{entry("two", "runs/a/2.md")}); !errors.Is(err, boom) {
		t.Errorf("Write with a failing signer: %v, want %v", err, boom)
	}
	if got := w.git("rev-parse", ledger); got != sha {
		t.Errorf("ledger moved to %s after a failed signature", got)
	}
}
