// Package ststest is an AWS STS endpoint for tests: an httptest server
// speaking STS's wire format (the Query protocol: a form-encoded POST, an
// XML answer in the namespace https://sts.amazonaws.com/doc/2011-06-15/)
// for AssumeRole, checking each request's SigV4 signature with its
// caller's secret key as AWS does.
//
// It exists because no real STS answers AssumeRole here: the machines
// reach no AWS, and versitygw's IAM API, the one STS that builds here,
// answers only AssumeRoleWithWebIdentity.
package ststest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Credentials are what an AssumeRole answers.
type Credentials struct {
	AccessKeyID, SecretAccessKey, SessionToken string
	// Expiration defaults to the request's DurationSeconds from now.
	Expiration time.Time
}

// Request is an AssumeRole call the server received, its signature
// verified.
type Request struct {
	// Form is the request's parameters (Action, Version, RoleArn,
	// RoleSessionName, ExternalId, DurationSeconds, …).
	Form url.Values
	// AccessKeyID and Region are those of the signature's credential
	// scope; Authorization is the whole header.
	AccessKeyID, Region, Authorization string
}

// Server is the STS endpoint.
type Server struct {
	// URL is the endpoint (AWS_ENDPOINT_URL_STS).
	URL string

	mu       sync.Mutex
	callers  map[string]string // access key ID → secret key
	roles    map[string]trust
	requests []Request
	fail     *failure
}

// trust is what a role's trust policy lets through and what it answers.
type trust struct {
	externalID string
	creds      Credentials
}

type failure struct {
	status     int
	code, text string
}

// New starts a server until the test ends, accepting calls signed with
// the secret key of the access key ID accessKeyID.
func New(t testing.TB, accessKeyID, secretKey string) *Server {
	t.Helper()
	s := &Server{callers: map[string]string{accessKeyID: secretKey}, roles: map[string]trust{}}
	srv := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// Trust makes role assumable by the server's callers, with externalID as
// its sts:ExternalId condition ("" for none: any or no ExternalId passes,
// as on AWS), answering creds.
func (s *Server) Trust(role, externalID string, creds Credentials) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.roles[role] = trust{externalID: externalID, creds: creds}
}

// Fail makes every later call fail with STS's error code and message and
// the HTTP status (code "" ends it).
func (s *Server) Fail(status int, code, message string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if code == "" {
		s.fail = nil
		return
	}
	s.fail = &failure{status, code, message}
}

// Requests returns the calls received so far whose signature verified.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

const (
	namespace = "https://sts.amazonaws.com/doc/2011-06-15/"
	caller    = "arn:aws:iam::000000000000:user/landform"
)

var (
	authHeader  = regexp.MustCompile(`^AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/sts/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=[0-9a-f]{64}$`)
	sessionName = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)
)

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil || r.Method != http.MethodPost {
		s.error(w, http.StatusBadRequest, "InvalidRequest", "want a POST with a form body")
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		s.error(w, http.StatusBadRequest, "MalformedQueryString", err.Error())
		return
	}
	auth := r.Header.Get("Authorization")
	m := authHeader.FindStringSubmatch(auth)
	if m == nil {
		s.error(w, http.StatusForbidden, "MissingAuthenticationToken", "Request is missing Authentication Token")
		return
	}
	key, region, signed := m[1], m[3], strings.Split(m[4], ";")
	s.mu.Lock()
	secret, known := s.callers[key]
	fail := s.fail
	s.mu.Unlock()
	if !known {
		s.error(w, http.StatusForbidden, "InvalidClientTokenId", "The security token included in the request is invalid.")
		return
	}
	if !verify(r, body, signed, key, secret, region) {
		s.error(w, http.StatusForbidden, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided.")
		return
	}
	s.mu.Lock()
	s.requests = append(s.requests, Request{Form: form, AccessKeyID: key, Region: region, Authorization: auth})
	s.mu.Unlock()
	if fail != nil {
		s.error(w, fail.status, fail.code, fail.text)
		return
	}
	if a := form.Get("Action"); a != "AssumeRole" || form.Get("Version") != "2011-06-15" {
		s.error(w, http.StatusBadRequest, "InvalidAction", fmt.Sprintf("Could not find operation %s for version %s", a, form.Get("Version")))
		return
	}
	s.assumeRole(w, form)
}

// assumeRole answers an AssumeRole call of form.
func (s *Server) assumeRole(w http.ResponseWriter, form url.Values) {
	role, name := form.Get("RoleArn"), form.Get("RoleSessionName")
	duration := 3600
	if d := form.Get("DurationSeconds"); d != "" {
		n, err := strconv.Atoi(d)
		if err != nil || n < 900 || n > 43200 {
			s.error(w, http.StatusBadRequest, "ValidationError", fmt.Sprintf("1 validation error detected: Value '%s' at 'durationSeconds' failed to satisfy constraint: Member must have value between 900 and 43200", d))
			return
		}
		duration = n
	}
	if !sessionName.MatchString(name) {
		s.error(w, http.StatusBadRequest, "ValidationError", fmt.Sprintf("1 validation error detected: Value '%s' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*", name))
		return
	}
	s.mu.Lock()
	tr, ok := s.roles[role]
	s.mu.Unlock()
	if !ok || tr.externalID != "" && tr.externalID != form.Get("ExternalId") {
		s.error(w, http.StatusForbidden, "AccessDenied", fmt.Sprintf("User: %s is not authorized to perform: sts:AssumeRole on resource: %s", caller, role))
		return
	}
	exp := tr.creds.Expiration
	if exp.IsZero() {
		exp = time.Now().Add(time.Duration(duration) * time.Second)
	}
	account, roleName := "000000000000", role
	if parts := strings.SplitN(role, ":", 6); len(parts) == 6 {
		account, roleName = parts[4], parts[5][strings.LastIndex(parts[5], "/")+1:]
	}
	type creds struct {
		AccessKeyID     string `xml:"AccessKeyId"`
		SecretAccessKey string `xml:"SecretAccessKey"`
		SessionToken    string `xml:"SessionToken"`
		Expiration      string `xml:"Expiration"`
	}
	answer := struct {
		XMLName xml.Name `xml:"AssumeRoleResponse"`
		NS      string   `xml:"xmlns,attr"`
		Result  struct {
			AssumedRoleUser struct {
				Arn           string `xml:"Arn"`
				AssumedRoleID string `xml:"AssumedRoleId"`
			} `xml:"AssumedRoleUser"`
			Credentials      creds `xml:"Credentials"`
			PackedPolicySize int   `xml:"PackedPolicySize"`
		} `xml:"AssumeRoleResult"`
		RequestID string `xml:"ResponseMetadata>RequestId"`
	}{NS: namespace, RequestID: requestID()}
	answer.Result.AssumedRoleUser.Arn = fmt.Sprintf("arn:aws:sts::%s:assumed-role/%s/%s", account, roleName, name)
	answer.Result.AssumedRoleUser.AssumedRoleID = "AROA3XFRBF535PLBIFPI4:" + name
	answer.Result.Credentials = creds{tr.creds.AccessKeyID, tr.creds.SecretAccessKey, tr.creds.SessionToken, exp.UTC().Format(time.RFC3339)}
	writeXML(w, http.StatusOK, answer)
}

// error answers STS's error document.
func (s *Server) error(w http.ResponseWriter, status int, code, message string) {
	typ := "Sender"
	if status >= 500 {
		typ = "Receiver"
	}
	writeXML(w, status, struct {
		XMLName xml.Name `xml:"ErrorResponse"`
		NS      string   `xml:"xmlns,attr"`
		Error   struct {
			Type    string `xml:"Type"`
			Code    string `xml:"Code"`
			Message string `xml:"Message"`
		} `xml:"Error"`
		RequestID string `xml:"RequestId"`
	}{NS: namespace, Error: struct {
		Type    string `xml:"Type"`
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	}{typ, code, message}, RequestID: requestID()})
}

func writeXML(w http.ResponseWriter, status int, v any) {
	out, err := xml.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("X-Amzn-RequestId", "c6104cbe-af31-11e0-8154-cbc7ccf896c7")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(xml.Header))
	_, _ = w.Write(out)
}

func requestID() string { return "c6104cbe-af31-11e0-8154-cbc7ccf896c7" }

// verify checks r's SigV4 signature: the request signed again, with
// secret, from the headers it says it signed, has the same Authorization.
func verify(r *http.Request, body []byte, signed []string, key, secret, region string) bool {
	at, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil {
		return false
	}
	again, err := http.NewRequest(r.Method, "http://"+r.Host+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		return false
	}
	again.Host = r.Host
	token := ""
	for _, h := range signed {
		switch h {
		case "host", "content-length":
		case "x-amz-security-token":
			token = r.Header.Get(h)
		default:
			again.Header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
		}
	}
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: key, SecretAccessKey: secret, SessionToken: token}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, again, hex.EncodeToString(sum[:]), "sts", region, at); err != nil {
		return false
	}
	return again.Header.Get("Authorization") == r.Header.Get("Authorization")
}
