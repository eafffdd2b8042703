// Package awscreds gives each run of a workspace short-lived AWS
// credentials of its own: it assumes the IAM role the server config names
// for the workspace (STS AssumeRole, with the daemon's own credentials from
// the standard chain), with a session name that carries the run's ID, so
// that the cloud's audit log (CloudTrail) points back to Landform's ledger.
// The keys reach terraform only through its environment: Credentials
// returns them as environment variables, and as secrets for the run's
// redaction; LogHandler masks them in the daemon's log while they are
// valid. They are never logged, stored or cached beyond the run that asked.
//
// Each run costs one AssumeRole call (one HTTPS round trip, tens of
// milliseconds; STS's default quota is hundreds of calls per second per
// account), and an apply another of its own.
package awscreds

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/landform/landform"
	"github.com/landform/landform/internal/redact"
)

// Settings are a workspace's AWS settings, resolved (config.AWS has the
// same fields, so config.AWS values convert: awscreds.Settings(a)).
type Settings struct {
	// RoleARN is the role to assume; "" for no credentials at all.
	RoleARN string
	// PlanRoleARN, when set, is the role assumed instead of RoleARN for
	// plans and drift checks (a read-only one): only applies get
	// RoleARN's. A pull request's code runs in plans, so its credentials
	// then cannot change anything.
	PlanRoleARN string
	// ExternalID is AssumeRole's ExternalId, "" for none.
	ExternalID string
	// SessionDuration is the credentials' lifetime, 15m to 12h; 0 for
	// DefaultSessionDuration.
	SessionDuration time.Duration
	// Region is the region of the STS call and terraform's AWS_REGION and
	// AWS_DEFAULT_REGION; "" for none (then STS is called in the daemon's
	// own region, or in the partition's default one).
	Region string
}

// DefaultSessionDuration is the lifetime of credentials whose settings
// give none.
const DefaultSessionDuration = time.Hour

// Rules returns the settings of the workspace named workspace of the
// repository named repo.
type Rules func(repo, workspace string) Settings

// Environment variables Credentials sets for terraform.
const (
	EnvAccessKeyID     = "AWS_ACCESS_KEY_ID"
	EnvSecretAccessKey = "AWS_SECRET_ACCESS_KEY"
	EnvSessionToken    = "AWS_SESSION_TOKEN"
	EnvRegion          = "AWS_REGION"
	EnvDefaultRegion   = "AWS_DEFAULT_REGION"
	// EnvProfile is set empty: a profile the operator passes to every
	// run (terraform.pass_env) would otherwise win over the assumed keys
	// in the AWS SDKs terraform and its providers use, which take an
	// empty variable for an unset one.
	EnvProfile = "AWS_PROFILE"
)

// Provider assumes the roles of runs. It is safe for concurrent use.
type Provider struct {
	rules  Rules
	client *sts.Client
	// region is the daemon's own AWS region ("" for none).
	region string
	now    func() time.Time

	mu sync.Mutex
	// live are the secrets handed out whose credentials are still valid,
	// for LogHandler.
	live    []liveSecret
	liveRed *redact.Redactor
}

type liveSecret struct {
	value string
	until time.Time
}

// Option configures a Provider.
type Option func(*options)

type options struct {
	endpoint string
	load     []func(*config.LoadOptions) error
	now      func() time.Time
}

// WithEndpoint sends STS calls to url instead of AWS's regional endpoint
// (a VPC endpoint, a test server). The SDK's own AWS_ENDPOINT_URL_STS
// works too.
func WithEndpoint(url string) Option { return func(o *options) { o.endpoint = url } }

// WithLoadOptions adds options to the loading of the daemon's AWS
// configuration (config.LoadDefaultConfig): a credentials provider, a
// retry policy, an HTTP client.
func WithLoadOptions(opts ...func(*config.LoadOptions) error) Option {
	return func(o *options) { o.load = append(o.load, opts...) }
}

// WithClock sets the clock that decides when handed-out credentials have
// expired (default time.Now).
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// New returns a Provider of the runs whose settings rules gives. The
// daemon's own credentials and region come from the standard chain (its
// environment, the shared config files, the instance's role), loaded now
// but retrieved only when a role is first assumed: New fails only for a
// configuration that cannot load (a malformed shared config file).
func New(ctx context.Context, rules Rules, opts ...Option) (*Provider, error) {
	o := options{now: time.Now}
	for _, fn := range opts {
		fn(&o)
	}
	cfg, err := config.LoadDefaultConfig(ctx, o.load...)
	if err != nil {
		return nil, fmt.Errorf("loading the daemon's AWS configuration: %w", err)
	}
	client := sts.NewFromConfig(cfg, func(so *sts.Options) {
		if o.endpoint != "" {
			so.BaseEndpoint = aws.String(o.endpoint)
		}
	})
	return &Provider{rules: rules, client: client, region: cfg.Region, now: o.now}, nil
}

// Credentials assumes the role of run's workspace and returns terraform's
// environment for it (EnvAccessKeyID, EnvSecretAccessKey,
// EnvSessionToken, EnvProfile empty, and with a region EnvRegion and
// EnvDefaultRegion), and the values to redact wherever the run's text
// goes (the keys and the token). A workspace without a role gets nothing:
// nil, nil, nil. Its signature is runner.WithCredentials'.
//
// The session is named by SessionName. Errors name the repository, the
// workspace and the role, never a key: EUNAUTHORIZED when STS refuses
// the daemon's credentials or the role's trust policy refuses them,
// EINVALID when it refuses the request (a duration over the role's
// maximum, a region not enabled); any other error (the network,
// throttling, STS failing, no base credentials) has no code: an
// environment fault, worth trying again.
func (p *Provider) Credentials(ctx context.Context, run *landform.Run) (map[string]string, []string, error) {
	s := p.rules(run.Repo, run.Workspace)
	if s.RoleARN == "" {
		return nil, nil, nil
	}
	role := RoleFor(s, run)
	where := fmt.Sprintf("role %s for workspace %s of %s", role, run.Workspace, run.Repo)
	region := s.Region
	if region == "" {
		region = p.region
	}
	if region == "" {
		region = partitionRegion(role)
	}
	if region == "" {
		return nil, nil, landform.Errorf(landform.EINVALID, "assuming %s: no region to call STS in; set aws.region", where)
	}
	duration := s.SessionDuration
	if duration == 0 {
		duration = DefaultSessionDuration
	}
	in := &sts.AssumeRoleInput{
		RoleArn:         aws.String(role),
		RoleSessionName: aws.String(SessionName(run)),
		DurationSeconds: aws.Int32(int32(duration / time.Second)),
	}
	if s.ExternalID != "" {
		in.ExternalId = aws.String(s.ExternalID)
	}
	asked := p.now()
	out, err := p.client.AssumeRole(ctx, in, func(o *sts.Options) { o.Region = region })
	if err != nil {
		return nil, nil, assumeError(where, err)
	}
	c := out.Credentials
	if c == nil || aws.ToString(c.AccessKeyId) == "" || aws.ToString(c.SecretAccessKey) == "" {
		return nil, nil, fmt.Errorf("assuming %s: STS answered without credentials", where)
	}
	env := map[string]string{
		EnvAccessKeyID:     aws.ToString(c.AccessKeyId),
		EnvSecretAccessKey: aws.ToString(c.SecretAccessKey),
		EnvSessionToken:    aws.ToString(c.SessionToken),
		EnvProfile:         "",
	}
	if s.Region != "" {
		env[EnvRegion], env[EnvDefaultRegion] = s.Region, s.Region
	}
	secrets := []string{env[EnvAccessKeyID], env[EnvSecretAccessKey]}
	if t := env[EnvSessionToken]; t != "" {
		secrets = append(secrets, t)
	}
	until := asked.Add(duration)
	if c.Expiration != nil && c.Expiration.After(until) {
		until = *c.Expiration
	}
	p.remember(secrets, until)
	return env, secrets, nil
}

// maxSessionName is the longest RoleSessionName STS takes.
const maxSessionName = 64

// RoleFor is the role s gives run: RoleARN for an apply (a run
// applying), PlanRoleARN for anything else when it is set.
func RoleFor(s Settings, run *landform.Run) string {
	if run.State != landform.StateApplying && s.PlanRoleARN != "" {
		return s.PlanRoleARN
	}
	return s.RoleARN
}

// SessionName is the name of run's role session: "landform-run-<ID>", and
// "landform-run-<ID>-apply" for the apply of its plan, so that CloudTrail
// tells a plan's reads from an apply's writes. Characters STS does not
// take (it takes letters, digits and "_+=,.@-") become "-", and the name
// is cut to 64 characters.
func SessionName(run *landform.Run) string {
	name := "landform-run-" + run.ID
	if run.State == landform.StateApplying {
		name += "-apply"
	}
	b := []byte(name)
	for i, c := range b {
		if !sessionNameChar(c) {
			b[i] = '-'
		}
	}
	if len(b) > maxSessionName {
		b = b[:maxSessionName]
	}
	return string(b)
}

func sessionNameChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("_+=,.@-", c) >= 0
}

// partitionRegion is the region STS is called in for role, an ARN, when
// neither the settings nor the daemon name one: the default region of the
// ARN's partition; "" for a partition without one here.
func partitionRegion(role string) string {
	partition, _, _ := strings.Cut(strings.TrimPrefix(role, "arn:"), ":")
	switch partition {
	case "aws":
		return "us-east-1"
	case "aws-us-gov":
		return "us-gov-west-1"
	case "aws-cn":
		return "cn-north-1"
	}
	return ""
}

// refusals are STS's error codes for credentials or a trust policy that
// refuse the call, and invalids those for a request it refuses: neither
// goes away by trying again.
var (
	refusals = []string{"AccessDenied", "InvalidClientTokenId", "SignatureDoesNotMatch", "IncompleteSignature",
		"UnrecognizedClientException", "MissingAuthenticationToken", "InvalidAccessKeyId"}
	invalids = []string{"ValidationError", "MalformedPolicyDocument", "PackedPolicyTooLarge", "RegionDisabledException",
		"InvalidParameterValue", "InvalidParameterCombination", "MissingParameter", "InvalidAction"}
)

// assumeError is the error of an AssumeRole of where (the role, the
// workspace) that failed with err: STS's code and message, and its
// request ID for AWS support, coded as Credentials says. Neither STS's
// answers nor the SDK's errors hold a secret key.
func assumeError(where string, err error) error {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return fmt.Errorf("assuming %s: %w", where, err)
	}
	msg := fmt.Sprintf("assuming %s: STS said %s: %s", where, ae.ErrorCode(), ae.ErrorMessage())
	var re *awshttp.ResponseError
	if errors.As(err, &re) && re.ServiceRequestID() != "" {
		msg += " (request " + re.ServiceRequestID() + ")"
	}
	code := ""
	switch {
	case slices.Contains(refusals, ae.ErrorCode()):
		code = landform.EUNAUTHORIZED
		msg += "; the role's trust policy must let the daemon's principal assume it (sts:AssumeRole), with its external_id as sts:ExternalId when set (docs/aws.md)"
	case slices.Contains(invalids, ae.ErrorCode()):
		code = landform.EINVALID
	default:
		return fmt.Errorf("assuming %s: %w", where, err)
	}
	return &landform.Error{Code: code, Message: msg, Err: err}
}

// remember keeps secrets for LogHandler until until.
func (p *Provider) remember(secrets []string, until time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range secrets {
		p.live = append(p.live, liveSecret{s, until})
	}
	p.liveRed = nil
}

// liveRedactor masks the secrets handed out whose credentials are still
// valid, forgetting the others.
func (p *Provider) liveRedactor() *redact.Redactor {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	kept := p.live[:0]
	for _, s := range p.live {
		if now.Before(s.until) {
			kept = append(kept, s)
		}
	}
	if len(kept) != len(p.live) {
		clear(p.live[len(kept):])
		p.liveRed = nil
	}
	p.live = kept
	if p.liveRed == nil {
		values := make([]string, len(kept))
		for i, s := range kept {
			values[i] = s.value
		}
		p.liveRed = redact.New(values)
	}
	return p.liveRed
}

// LogHandler returns a slog.Handler that masks, before h sees a record,
// every secret p has handed out whose credentials are still valid: the
// daemon's log then never shows them, even in text no run's redaction
// sees (terraform's errors the engine logs). Attributes added with
// WithAttrs are masked with the secrets valid at that moment.
func (p *Provider) LogHandler(h slog.Handler) slog.Handler { return &liveHandler{h: h, p: p} }

type liveHandler struct {
	h slog.Handler
	p *Provider
}

func (x *liveHandler) Enabled(ctx context.Context, l slog.Level) bool { return x.h.Enabled(ctx, l) }

func (x *liveHandler) Handle(ctx context.Context, rec slog.Record) error {
	return redact.Handler(x.h, x.p.liveRedactor()).Handle(ctx, rec)
}

func (x *liveHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &liveHandler{h: redact.Handler(x.h, x.p.liveRedactor()).WithAttrs(attrs), p: x.p}
}

func (x *liveHandler) WithGroup(name string) slog.Handler {
	return &liveHandler{h: x.h.WithGroup(name), p: x.p}
}
