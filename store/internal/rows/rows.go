// Package rows holds what the SQL stores (store/sqlite, store/postgres)
// share about the rows they keep: the text form of times, run IDs, the
// JSON columns, and the checks of a run to create — so that both keep one
// contract (store/storetest) the same way.
package rows

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/landform/landform"
)

// TimeLayout is RFC 3339 with a fixed nine-digit fraction: unlike
// time.RFC3339Nano, which drops trailing zeros, its text order is time
// order, and it keeps nanoseconds (PostgreSQL's timestamps keep
// microseconds).
const TimeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// FormatTime is t's stored text, in UTC.
func FormatTime(t time.Time) string { return t.UTC().Format(TimeLayout) }

// ParseTime reads what FormatTime wrote.
func ParseTime(s string) (time.Time, error) { return time.Parse(TimeLayout, s) }

// CheckTimes rejects times the layout cannot keep in order: outside years
// 1 to 9999. The zero time is fine: it means "not yet".
func CheckTimes(ts ...time.Time) error {
	for _, t := range ts {
		if y := t.UTC().Year(); !t.IsZero() && (y < 1 || y > 9999) {
			return landform.Errorf(landform.EINVALID, "run time %v is out of range", t)
		}
	}
	return nil
}

// ParseID returns the row ID of a run ID: its canonical decimal form only.
func ParseID(id string) (int64, bool) {
	n, err := strconv.ParseInt(id, 10, 64)
	return n, err == nil && n > 0 && strconv.FormatInt(n, 10) == id
}

// FormatID is a row ID's run ID.
func FormatID(n int64) string { return strconv.FormatInt(n, 10) }

// NotFound is the error of an unknown run.
func NotFound(id string) error {
	return landform.Errorf(landform.ENOTFOUND, "run %s not found", id)
}

// CheckNew validates a run to create and returns its CreatedAt: r's, or
// now() when it is zero. EINVALID when r already has an ID, lacks a repo,
// a workspace, a kind or a state, or has a time out of range.
func CheckNew(r *landform.Run, now func() time.Time) (time.Time, error) {
	if r.ID != "" {
		return time.Time{}, landform.Errorf(landform.EINVALID, "run %s already has an ID", r.ID)
	}
	if r.Repo == "" || r.Workspace == "" || r.Kind == "" || r.State == "" {
		return time.Time{}, landform.Errorf(landform.EINVALID, "run needs a repo, a workspace, a kind and a state")
	}
	if err := CheckTimes(r.CreatedAt, r.StartedAt, r.FinishedAt); err != nil {
		return time.Time{}, err
	}
	if r.CreatedAt.IsZero() {
		return now().UTC(), nil
	}
	return r.CreatedAt, nil
}

// JSON is the stored form of a policy, apply or drift result: "" for none.
func JSON[T any](v *T) string {
	if v == nil {
		return ""
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "" // the results are JSON values: they always marshal
	}
	return string(b)
}

// ParseJSON reads what JSON stored: nil for "".
func ParseJSON[T any](s string) (*T, error) {
	if s == "" {
		return nil, nil
	}
	v := new(T)
	if err := json.Unmarshal([]byte(s), v); err != nil {
		return nil, err
	}
	return v, nil
}
