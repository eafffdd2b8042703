package terraform

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/hc-install/product"
	"github.com/hashicorp/hc-install/releases"
)

const (
	// releaseListTimeout bounds the first request to the releases API, so
	// that an offline machine learns within seconds that it cannot install.
	releaseListTimeout = 4 * time.Second
	// releaseInstallTimeout bounds the download once the API answered.
	releaseInstallTimeout = 3 * time.Minute
)

// installRelease downloads the newest terraform release satisfying req into
// the install directory, as INSTALLDIR/terraform_VERSION/terraform.
func (e *Engine) installRelease(ctx context.Context, req requirement) (*Binary, error) {
	if req.kind == KindTofu {
		return nil, errors.New("only terraform releases can be installed, install tofu yourself")
	}
	e.installMu.Lock()
	defer e.installMu.Unlock()

	// Another workspace may have installed a match while this one waited.
	if bins, err := e.Binaries(ctx); err == nil {
		for _, b := range bins {
			if req.allows(b) {
				return b, nil
			}
		}
	}

	start := time.Now()
	// A plain client: hc-install's default retries with backoff, which only
	// delays the answer when the releases site is unreachable.
	client := &http.Client{}
	vs := &releases.Versions{
		Product:     product.Terraform,
		Constraints: req.constraints,
		ListTimeout: releaseListTimeout,
		ApiBaseURL:  e.releasesURL,
		HTTPClient:  client,
		Install:     releases.InstallationOptions{ArmoredPublicKey: e.releasesKey},
	}
	listCtx, cancel := context.WithTimeout(ctx, releaseListTimeout)
	sources, err := vs.List(listCtx)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("listing terraform releases: %w (offline?)", err)
	}
	if len(sources) == 0 {
		return nil, fmt.Errorf("no terraform release satisfies %q", req.text)
	}
	ev, ok := sources[len(sources)-1].(*releases.ExactVersion) // sorted oldest first
	if !ok {
		return nil, fmt.Errorf("unexpected release source %T", sources[len(sources)-1])
	}
	if err := os.MkdirAll(e.installDir, 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(e.installDir, ".install-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	ev.InstallDir = tmp
	ev.Timeout = releaseInstallTimeout
	e.logger.Info("installing terraform", "version", ev.Version, "dir", e.installDir)
	path, err := ev.Install(ctx)
	if err != nil {
		return nil, fmt.Errorf("installing terraform %s: %w", ev.Version, err)
	}
	dst := filepath.Join(e.installDir, "terraform_"+ev.Version.String())
	if err := os.Rename(filepath.Dir(path), dst); err != nil && !errors.Is(err, os.ErrExist) {
		// A concurrent process may have installed the same version.
		if _, serr := os.Stat(filepath.Join(dst, product.Terraform.BinaryName())); serr != nil {
			return nil, fmt.Errorf("installing terraform %s: %w", ev.Version, err)
		}
	}
	b, err := e.probe(ctx, filepath.Join(dst, product.Terraform.BinaryName()))
	if err != nil {
		return nil, err
	}
	e.logger.Info("installed terraform", "binary", b.String(), "duration", time.Since(start))
	return b, nil
}
