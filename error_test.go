package landform_test

import (
	"errors"
	"fmt"
	"io/fs"
	"testing"

	"github.com/landform/landform"
)

func TestErrorCodeAndUnwrap(t *testing.T) {
	err := landform.Errorf(landform.ENOTFOUND, "run %s: %w", "42", fs.ErrNotExist)
	wrapped := fmt.Errorf("showing run: %w", err)

	if got := landform.ErrorCode(wrapped); got != landform.ENOTFOUND {
		t.Errorf("ErrorCode = %q, want %q", got, landform.ENOTFOUND)
	}
	if !errors.Is(wrapped, fs.ErrNotExist) {
		t.Error("errors.Is does not reach the cause")
	}
	if got, want := landform.ErrorMessage(wrapped), "run 42: file does not exist"; got != want {
		t.Errorf("ErrorMessage = %q, want %q", got, want)
	}
	if got := landform.ErrorCode(errors.New("boom")); got != landform.EINTERNAL {
		t.Errorf("plain error code = %q, want internal", got)
	}
	if got := landform.ErrorMessage(errors.New("secret detail")); got != "internal error" {
		t.Errorf("internal message leaked: %q", got)
	}
	if landform.ErrorCode(nil) != "" {
		t.Error("nil error has a code")
	}
}

func TestWorkspaceName(t *testing.T) {
	for _, tc := range []struct{ dir, ws, want string }{
		{"envs/prod", "", "envs/prod"},
		{"envs/prod", "default", "envs/prod"},
		{"envs/prod", "blue", "envs/prod@blue"},
	} {
		if got := landform.WorkspaceName(tc.dir, tc.ws); got != tc.want {
			t.Errorf("WorkspaceName(%q, %q) = %q, want %q", tc.dir, tc.ws, got, tc.want)
		}
	}
}

func TestPlanSummary(t *testing.T) {
	s := landform.PlanSummary{Add: 4, Replace: 1}
	if got := s.String(); got != "+4 ~0 -0 ±1" {
		t.Errorf("String = %q", got)
	}
}
