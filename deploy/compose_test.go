// Package deploy_test checks the top-level docker-compose.yml, the
// Dockerfile and the server config compose mounts (deploy/landform.yaml)
// without a Docker engine: the compose file is loaded by compose-go (the
// library docker compose itself uses) from the local files only — no image
// is pulled, no remote resource loaded — and checked against the real
// server config parser.
package deploy_test

import (
	"bufio"
	"encoding/base64"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"gopkg.in/yaml.v3"

	"github.com/landform/landform/config"
)

// root is the repository's top, where docker-compose.yml is.
const root = ".."

// operatorEnv is what an operator's .env holds beyond the compose file's
// dev-only defaults after the first run: the Gitea token, which has none.
var operatorEnv = map[string]string{"LANDFORM_GITEA_TOKEN": "0123456789abcdef0123456789abcdef01234567"}

// load loads docker-compose.yml as `docker compose config` would, with env
// as the only environment (neither the process's nor a .env file).
func load(t *testing.T, env map[string]string) *types.Project {
	t.Helper()
	dir, err := filepath.Abs(root)
	if err != nil {
		t.Fatal(err)
	}
	details := types.ConfigDetails{
		WorkingDir:  dir,
		ConfigFiles: []types.ConfigFile{{Filename: filepath.Join(dir, "docker-compose.yml")}},
		Environment: types.Mapping(env),
	}
	p, err := loader.LoadWithContext(t.Context(), details, func(o *loader.Options) {
		o.ResolvePaths = true
	})
	if err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	return p
}

func service(t *testing.T, p *types.Project, name string) types.ServiceConfig {
	t.Helper()
	s, ok := p.Services[name]
	if !ok {
		t.Fatalf("docker-compose.yml has no service %q (has %v)", name, slices.Sorted(func(yield func(string) bool) {
			for n := range p.Services {
				if !yield(n) {
					return
				}
			}
		}))
	}
	return s
}

// env returns a service's environment after interpolation; an unset
// variable ("NAME" with no value) is missing.
func env(s types.ServiceConfig) map[string]string {
	m := map[string]string{}
	for k, v := range s.Environment {
		if v != nil {
			m[k] = *v
		}
	}
	return m
}

func TestComposeLoadsWithDevDefaultsOnly(t *testing.T) {
	// No .env at all: `docker compose up -d postgres s3 gitea`, the first
	// step of docs/deploy.md, must work before the operator has made one.
	p := load(t, nil)
	if p.Name != "landform" {
		t.Errorf("project name %q, want landform (the volumes' prefix docs/deploy.md names)", p.Name)
	}
	for _, want := range []string{"landform", "postgres", "s3", "s3-init", "gitea"} {
		service(t, p, want)
	}
}

func TestComposeServicesHaveHealthchecks(t *testing.T) {
	p := load(t, operatorEnv)
	for name, s := range p.Services {
		if oneShot(p, name) {
			continue
		}
		h := s.HealthCheck
		if h == nil || h.Disable || len(h.Test) == 0 || h.Test[0] == "NONE" {
			t.Errorf("service %s has no healthcheck", name)
			continue
		}
		if s.Restart != types.RestartPolicyUnlessStopped && s.Restart != types.RestartPolicyAlways {
			t.Errorf("service %s: restart %q, want unless-stopped (a long-running service)", name, s.Restart)
		}
	}
	// Every dependency waits for a healthy or finished service, not for a
	// started container.
	for name, s := range p.Services {
		for dep, d := range s.DependsOn {
			want := types.ServiceConditionHealthy
			if oneShot(p, dep) {
				want = types.ServiceConditionCompletedSuccessfully
			}
			if d.Condition != want {
				t.Errorf("service %s depends on %s with condition %q, want %q", name, dep, d.Condition, want)
			}
		}
	}
}

// oneShot reports whether service name is a job that runs once: restart
// "no", and every service depending on it waits for it to complete.
func oneShot(p *types.Project, name string) bool {
	if p.Services[name].Restart != types.RestartPolicyNo {
		return false
	}
	waited := false
	for _, s := range p.Services {
		if d, ok := s.DependsOn[name]; ok {
			if d.Condition != types.ServiceConditionCompletedSuccessfully {
				return false
			}
			waited = true
		}
	}
	return waited
}

func TestComposeReferencedFilesExist(t *testing.T) {
	p := load(t, operatorEnv)
	for name, s := range p.Services {
		if b := s.Build; b != nil {
			if fi, err := os.Stat(b.Context); err != nil || !fi.IsDir() {
				t.Errorf("service %s: build context %s is not a directory (%v)", name, b.Context, err)
			}
			dockerfile := b.Dockerfile
			if dockerfile == "" {
				dockerfile = "Dockerfile"
			}
			if !filepath.IsAbs(dockerfile) {
				dockerfile = filepath.Join(b.Context, dockerfile)
			}
			if _, err := os.Stat(dockerfile); err != nil {
				t.Errorf("service %s: Dockerfile: %v", name, err)
			}
		}
		for _, v := range s.Volumes {
			switch v.Type {
			case types.VolumeTypeBind:
				if _, err := os.Stat(v.Source); err != nil {
					t.Errorf("service %s: bind mount of %s: %v", name, v.Source, err)
				}
			case types.VolumeTypeVolume:
				if _, ok := p.Volumes[v.Source]; !ok {
					t.Errorf("service %s: volume %q is not declared", name, v.Source)
				}
			}
		}
		for _, f := range s.EnvFiles {
			if _, err := os.Stat(f.Path); err != nil {
				t.Errorf("service %s: env_file: %v", name, err)
			}
		}
		// A service that uses an image built by another must not pull it.
		if s.Build == nil && s.PullPolicy != types.PullPolicyNever {
			if s.Image == "" || !strings.Contains(s.Image, ":") || strings.HasSuffix(s.Image, ":latest") {
				t.Errorf("service %s: image %q is not pinned to a version tag", name, s.Image)
			}
		}
		if s.Build == nil && s.PullPolicy == types.PullPolicyNever && !builtBy(p, s.Image) {
			t.Errorf("service %s: pull_policy never, but no service builds its image %q", name, s.Image)
		}
	}
	for _, c := range p.Configs {
		if c.File != "" {
			if _, err := os.Stat(c.File); err != nil {
				t.Errorf("config %s: %v", c.Name, err)
			}
		}
	}
	for _, c := range p.Secrets {
		if c.File != "" {
			if _, err := os.Stat(c.File); err != nil {
				t.Errorf("secret %s: %v", c.Name, err)
			}
		}
	}
}

func builtBy(p *types.Project, image string) bool {
	for _, s := range p.Services {
		if s.Build != nil && s.Image == image {
			return true
		}
	}
	return false
}

// composeVar is a variable docker-compose.yml takes from .env or the shell.
var composeVar = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)`)

func TestEnvExampleListsEveryComposeVariable(t *testing.T) {
	compose, err := os.ReadFile(filepath.Join(root, "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	for _, line := range strings.Split(string(compose), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		for _, m := range composeVar.FindAllStringSubmatch(line, -1) {
			used[m[1]] = true
		}
	}
	f, err := os.Open("env.example")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	listed := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Errorf("env.example: %q is not NAME=value", line)
			continue
		}
		if v != "" {
			t.Errorf("env.example: %s has a value; the example leaves every secret for the operator to fill in", k)
		}
		listed[k] = true
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	for k := range used {
		if !listed[k] {
			t.Errorf("docker-compose.yml uses ${%s}, which deploy/env.example does not list", k)
		}
	}
	for k := range listed {
		if !used[k] {
			t.Errorf("deploy/env.example lists %s, which docker-compose.yml does not use", k)
		}
	}
}

// configMount returns the host file compose mounts as the landform
// service's --config, and that path in the container.
func configMount(t *testing.T, s types.ServiceConfig) (host, target string) {
	t.Helper()
	i := slices.Index(s.Command, "--config")
	if len(s.Command) == 0 || s.Command[0] != "serve" || i < 0 || i+1 >= len(s.Command) {
		t.Fatalf("landform service: command %q, want serve --config FILE", s.Command)
	}
	target = s.Command[i+1]
	for _, v := range s.Volumes {
		if v.Type == types.VolumeTypeBind && v.Target == target {
			if !v.ReadOnly {
				t.Errorf("landform service: %s is mounted read-write; the daemon never writes its config", target)
			}
			return v.Source, target
		}
	}
	t.Fatalf("landform service: nothing is mounted at its --config %s", target)
	return "", ""
}

func TestLandformServiceMatchesItsConfig(t *testing.T) {
	p := load(t, operatorEnv)
	lf := service(t, p, "landform")
	host, target := configMount(t, lf)
	if want, _ := filepath.Abs("landform.yaml"); host != want {
		t.Errorf("landform service mounts %s as its config, want deploy/landform.yaml", host)
	}
	data, err := os.ReadFile(host)
	if err != nil {
		t.Fatal(err)
	}
	// The real parser, as `landform serve` runs it in the container.
	cfg, err := config.ParseServer(target, data)
	if err != nil {
		t.Fatalf("deploy/landform.yaml does not parse:\n%v", err)
	}
	vars := env(lf)
	lookup := func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
	if err := cfg.CheckEnvironment(lookup); err != nil {
		t.Errorf("deploy/landform.yaml in the landform service's environment:\n%v", err)
	}
	// Every variable the config names is set, non-empty, by compose
	// (CheckEnvironment checks those it knows; this checks them all).
	for _, k := range envKeys(t, data) {
		if vars[k] == "" {
			t.Errorf("deploy/landform.yaml names the variable %s, which the landform service does not set", k)
		}
	}

	// The listen port is the one compose publishes and checks.
	_, port, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		t.Fatal(err)
	}
	replicas := 1
	if lf.Deploy != nil && lf.Deploy.Replicas != nil {
		replicas = *lf.Deploy.Replicas
	}
	if replicas < 2 {
		t.Errorf("landform service: %d replica(s); the compose file shows two on one database and bucket", replicas)
	}
	if lf.ContainerName != "" {
		t.Errorf("landform service: container_name %q allows only one replica", lf.ContainerName)
	}
	published := false
	for _, pc := range lf.Ports {
		if strconv.Itoa(int(pc.Target)) != port {
			continue
		}
		published = true
		if n := portCount(t, pc.Published); n < replicas {
			t.Errorf("landform service publishes %q for %d replicas: one host port each is needed", pc.Published, replicas)
		}
		if ext, err := url.Parse(cfg.ExternalURL); err == nil && ext.Port() != firstPort(pc.Published) {
			t.Errorf("external_url %s is not on the first published port %s", cfg.ExternalURL, pc.Published)
		}
	}
	if !published {
		t.Errorf("landform service does not publish its listen port %s (ports %+v)", port, lf.Ports)
	}
	if h := lf.HealthCheck; h == nil || !strings.Contains(strings.Join(h.Test, " "), "127.0.0.1:"+port+"/") {
		t.Errorf("landform service's healthcheck does not ask port %s: %v", port, lf.HealthCheck)
	}
	if lf.StopGracePeriod == nil || time.Duration(*lf.StopGracePeriod) <= cfg.ShutdownGrace {
		t.Errorf("landform service: stop_grace_period %v, want more than shutdown_grace %v", lf.StopGracePeriod, cfg.ShutdownGrace)
	}

	// The forge and the repositories are the compose file's Gitea.
	for _, r := range cfg.Repos {
		for _, u := range []string{r.URL, r.Forge.URL} {
			if u != "" {
				serviceAt(t, p, u)
			}
		}
	}

	t.Run("store", func(t *testing.T) {
		st := cfg.Store
		if st.Kind != config.StorePostgres || st.DSNEnv == "" {
			t.Fatalf("store: %+v, want kind postgres with a dsn_env", st)
		}
		dsn, err := url.Parse(vars[st.DSNEnv])
		if err != nil {
			t.Fatalf("%s: %v", st.DSNEnv, err)
		}
		pg := serviceAt(t, p, dsn.String())
		pgEnv := env(pg)
		pass, _ := dsn.User.Password()
		if dsn.User.Username() != pgEnv["POSTGRES_USER"] || pass != pgEnv["POSTGRES_PASSWORD"] || strings.TrimPrefix(dsn.Path, "/") != pgEnv["POSTGRES_DB"] {
			t.Errorf("%s names user %q, database %q and its password; service %s has POSTGRES_USER %q, POSTGRES_DB %q and another password",
				st.DSNEnv, dsn.User.Username(), strings.TrimPrefix(dsn.Path, "/"), pg.Name, pgEnv["POSTGRES_USER"], pgEnv["POSTGRES_DB"])
		}
		if _, ok := lf.DependsOn[pg.Name]; !ok {
			t.Errorf("landform service does not wait for %s", pg.Name)
		}
	})
	t.Run("plans", func(t *testing.T) {
		pl := cfg.Plans
		if pl.Kind != config.PlansS3 || pl.Bucket == "" || pl.Endpoint == "" || !pl.PathStyle {
			t.Fatalf("plans: %+v, want kind s3 with a bucket, the compose S3 server's endpoint and path_style", pl)
		}
		s3 := serviceAt(t, p, pl.Endpoint)
		s3Env := env(s3)
		if vars["AWS_ACCESS_KEY_ID"] != s3Env["ROOT_ACCESS_KEY"] || vars["AWS_SECRET_ACCESS_KEY"] != s3Env["ROOT_SECRET_KEY"] {
			t.Errorf("the landform service's AWS credentials are not service %s's root keys", s3.Name)
		}
		if vars["AWS_REGION"] != pl.Region {
			t.Errorf("AWS_REGION %q, plans.region %q", vars["AWS_REGION"], pl.Region)
		}
		key, err := base64.StdEncoding.DecodeString(vars[pl.EncryptionKeyEnv])
		if err != nil || len(key) != 32 {
			t.Errorf("%s is not base64 of 32 bytes (%d bytes, %v)", pl.EncryptionKeyEnv, len(key), err)
		}
		// The bucket is made by the one-shot service landform waits for.
		made := false
		for name, s := range p.Services {
			e := env(s)
			if oneShot(p, name) && e["LANDFORM_PLAN_BUCKET"] != "" {
				made = true
				if e["LANDFORM_PLAN_BUCKET"] != pl.Bucket {
					t.Errorf("service %s makes bucket %q, plans.bucket is %q", name, e["LANDFORM_PLAN_BUCKET"], pl.Bucket)
				}
				if e["S3_ENDPOINT"] != pl.Endpoint {
					t.Errorf("service %s makes the bucket at %q, plans.endpoint is %q", name, e["S3_ENDPOINT"], pl.Endpoint)
				}
				if _, ok := lf.DependsOn[name]; !ok {
					t.Errorf("landform service does not wait for %s, which makes its bucket", name)
				}
			}
		}
		if !made {
			t.Errorf("no one-shot service makes the bucket %q", pl.Bucket)
		}
	})
}

// serviceAt returns the compose service that rawURL's host names, and checks
// that it listens on rawURL's port when it says which (versitygw's --port).
func serviceAt(t *testing.T, p *types.Project, rawURL string) types.ServiceConfig {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatalf("%s: %v", rawURL, err)
	}
	s := service(t, p, u.Hostname())
	if i := slices.Index(s.Command, "--port"); i >= 0 && i+1 < len(s.Command) {
		if _, port, _ := net.SplitHostPort(s.Command[i+1]); port != u.Port() {
			t.Errorf("%s: service %s listens on %s", rawURL, s.Name, s.Command[i+1])
		}
	}
	return s
}

// envKeys returns the values of every *_env key of a YAML document: the
// names of the environment variables a server config reads.
func envKeys(t *testing.T, data []byte) []string {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	var keys []string
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				if strings.HasSuffix(k.Value, "_env") && v.Kind == yaml.ScalarNode {
					keys = append(keys, v.Value)
				}
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(&doc)
	if len(keys) == 0 {
		t.Fatal("deploy/landform.yaml names no environment variable: a secret would have to be in the file")
	}
	return keys
}

// portCount returns how many host ports a published spec ("8080",
// "8080-8081") gives.
func portCount(t *testing.T, published string) int {
	t.Helper()
	lo, hi, isRange := strings.Cut(published, "-")
	if !isRange {
		return 1
	}
	a, err1 := strconv.Atoi(lo)
	b, err2 := strconv.Atoi(hi)
	if err1 != nil || err2 != nil || b < a {
		t.Fatalf("published port range %q", published)
	}
	return b - a + 1
}

func firstPort(published string) string {
	lo, _, _ := strings.Cut(published, "-")
	return lo
}

func TestDockerfileMatchesCompose(t *testing.T) {
	p := load(t, operatorEnv)
	lf := service(t, p, "landform")
	data, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	df := string(data)
	_, target := configMount(t, lf)
	cfgData, err := os.ReadFile(filepath.Join(root, "deploy", "landform.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var listen struct {
		Listen string `yaml:"listen"`
	}
	if err := yaml.Unmarshal(cfgData, &listen); err != nil {
		t.Fatal(err)
	}
	_, port, err := net.SplitHostPort(listen.Listen)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"EXPOSE " + port,
		"http://127.0.0.1:" + port + "/healthz", // the image's HEALTHCHECK
		`"--config", "` + target + `"`,          // the image's CMD: the config where compose mounts it
		"USER landform",                         // not root
		"./cmd/landform",
	} {
		if !strings.Contains(df, want) {
			t.Errorf("Dockerfile does not contain %q", want)
		}
	}
	if !regexp.MustCompile(`(?m)^FROM \S+ AS build$`).MatchString(df) {
		t.Error("Dockerfile has no build stage: the image should not carry the Go toolchain")
	}
}

// TestDockerignoreKeepsTheBuildInputs checks that .dockerignore leaves in
// the build context every file `go build ./cmd/landform` reads (go.mod,
// go.sum, the Go and embedded files of the module's packages it imports),
// and keeps .env out.
func TestDockerignoreKeepsTheBuildInputs(t *testing.T) {
	patterns := dockerignore(t)
	if !ignored(patterns, ".env") {
		t.Error(".dockerignore does not exclude .env: docker compose's secrets would enter the image")
	}
	if testing.Short() {
		t.Skip("-short: the rest runs go list")
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), "go", "list", "-deps",
		"-f", `{{if not .Standard}}{{.Dir}}{{range .GoFiles}}{{"\t"}}{{.}}{{end}}{{range .EmbedFiles}}{{"\t"}}{{.}}{{end}}{{end}}`,
		"./cmd/landform")
	cmd.Dir = abs
	// Offline: the modules are in the cache once this test has compiled.
	cmd.Env = append(os.Environ(), "GOPROXY=off", "GOFLAGS=-mod=readonly")
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("go list: %v\n%s", err, stderr)
	}
	need := []string{"go.mod", "go.sum"}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Split(line, "\t")
		rel, err := filepath.Rel(abs, fields[0])
		if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			continue // a dependency's module, not this one
		}
		for _, f := range fields[1:] {
			need = append(need, filepath.ToSlash(filepath.Join(rel, f)))
		}
	}
	if len(need) < 10 {
		t.Fatalf("go list found only %v", need)
	}
	for _, f := range need {
		if ignored(patterns, f) {
			t.Errorf(".dockerignore excludes %s, which the image's go build needs", f)
		}
	}
}

// dockerignore returns the patterns of the top-level .dockerignore.
func dockerignore(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	var patterns []string
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.Contains(line, "**") {
			t.Fatalf(".dockerignore: %q: this test's matcher does not handle **; extend ignored", line)
		}
		patterns = append(patterns, line)
	}
	return patterns
}

// ignored reports whether Docker leaves the slash-separated path f out of
// the build context: the last pattern that matches f or a directory above
// it decides, "!" re-including (the rules of Docker's .dockerignore, without
// "**").
func ignored(patterns []string, f string) bool {
	out := false
	for _, p := range patterns {
		negate := strings.HasPrefix(p, "!")
		p = path.Clean(strings.TrimPrefix(strings.TrimPrefix(p, "!"), "/"))
		for prefix := f; prefix != "."; prefix = path.Dir(prefix) {
			if ok, _ := path.Match(p, prefix); ok {
				out = !negate
				break
			}
		}
	}
	return out
}

func TestIgnoredMatchesDockerRules(t *testing.T) {
	patterns := []string{".git", "bin", "test/artifacts", "*.log", "!keep.log"}
	for f, want := range map[string]bool{
		".git/config":           true,
		"bin/landform":          true,
		"cmd/landform/main.go":  false,
		"test/artifacts/a.png":  true,
		"test/artifacts":        true,
		"test/daemon_test.go":   false,
		"x.log":                 true,
		"keep.log":              false,
		"sub/x.log":             false, // patterns are anchored at the top
		"internal/demo/bin/x":   false,
		"binary":                false,
		".gitignore":            false,
		".github/workflows/x.y": false,
	} {
		if got := ignored(patterns, f); got != want {
			t.Errorf("ignored(%q) = %v, want %v", f, got, want)
		}
	}
}
