package landform

import (
	"fmt"
	"strings"
	"time"
)

// Lock is a workspace lock: while a holder (a pull request, a branch) has
// planned changes to a workspace that are not applied yet, other holders'
// plans of that workspace would be planned against a state about to move.
// A workspace (Repo, Workspace) has at most one lock.
type Lock struct {
	Repo      string `json:"repo"`
	Workspace string `json:"workspace"`
	// Holder names who holds the lock: "pr/12", "mr/7", "branch/main".
	Holder string `json:"holder"`
	// RunID is the run that took (or last retook) the lock, if any.
	RunID string `json:"run_id,omitempty"`
	// Reason says why, for people: "plan of pr/12 awaiting approval".
	Reason    string    `json:"reason,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// LockedError is the cause inside the ECONFLICT error a store returns when
// a workspace lock is asked for while another holder has it; Lock is that
// holder's lock. Callers reach it with errors.As.
type LockedError struct {
	Lock Lock
}

func (e *LockedError) Error() string {
	l := e.Lock
	msg := fmt.Sprintf("workspace %s of %s is locked by %s", l.Workspace, l.Repo, l.Holder)
	var about []string
	if l.RunID != "" {
		about = append(about, "run "+l.RunID)
	}
	if l.Reason != "" {
		about = append(about, l.Reason)
	}
	if len(about) > 0 {
		msg += " (" + strings.Join(about, ": ") + ")"
	}
	return msg
}

// NewLockedError returns the ECONFLICT error for a workspace held by l, with
// a *LockedError as its cause, so that every store words it the same way.
func NewLockedError(l Lock) *Error {
	le := &LockedError{Lock: l}
	return &Error{Code: ECONFLICT, Message: le.Error(), Err: le}
}
