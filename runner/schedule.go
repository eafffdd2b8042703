package runner

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/landform/landform"
)

// Drift schedules: when each workspace's drift check is due, and which of
// the due ones may start now. Both are pure: the daemon passes the time in.

// nightlySpec is what landform.DriftNightly stands for.
const nightlySpec = "0 2 * * *"

// driftParser reads standard 5-field cron specs and the descriptors
// (@hourly, @daily, @midnight, @weekly, @monthly, @yearly, @every D).
var driftParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// allHours are the bits of a cron.SpecSchedule's Hour field of a spec
// that fires in every hour.
const allHours = 1<<24 - 1

// A DriftSchedule says when a workspace's drift check is due.
//
// A cron spec whose hour field is "*" (every hour: "*/15 * * * *",
// @hourly) fires by elapsed time: every 15 minutes of real time, through
// daylight saving changes too (92 or 100 times on their days). A spec of
// given hours (@nightly, "0 2 * * *", "30 1-3 * * 1-5") fires at wall-clock
// times of Location, as cron does: a time the clocks skip in spring fires
// when the gap ends (02:00 becomes 03:00 CEST), a time they repeat in
// autumn fires once, the first time. @every D fires at the multiples of D
// since the Unix epoch, so a restart keeps the cadence (@every 1h fires on
// the hour). Each fire time is then offset by the key's jitter.
//
// The zero DriftSchedule, like one of landform.DriftOff, never fires.
type DriftSchedule struct {
	// Spec is the schedule as written: a 5-field cron spec, a descriptor,
	// landform.DriftNightly or landform.DriftOff.
	Spec string
	// Location is the time zone of the spec's wall-clock times (UTC when
	// nil).
	Location *time.Location
	// Jitter spreads the fire times of different keys: each key's are
	// offset by a stable amount in [0, Jitter) (see JitterOffset).
	Jitter time.Duration

	spec  *cron.SpecSchedule // nil for @every and off
	every time.Duration      // the period of @every, 0 otherwise
}

// ParseDriftSchedule parses spec, in loc (nil means UTC), with jitter:
// landform.DriftNightly is "0 2 * * *"; landform.DriftOff gives a schedule that never
// fires. A spec that is not a standard 5-field cron spec or a descriptor,
// that carries its own time zone (CRON_TZ=), an @every of less than a
// second or of a fraction of one, a spec that never fires (February 30th)
// and a negative jitter are EINVALID.
func ParseDriftSchedule(spec string, loc *time.Location, jitter time.Duration) (DriftSchedule, error) {
	if loc == nil {
		loc = time.UTC
	}
	s := DriftSchedule{Spec: spec, Location: loc, Jitter: jitter}
	if jitter < 0 {
		return DriftSchedule{}, landform.Errorf(landform.EINVALID, "drift schedule %q: negative jitter %s", spec, jitter)
	}
	if spec == landform.DriftOff {
		return s, nil
	}
	text := spec
	if text == landform.DriftNightly {
		text = nightlySpec
	}
	if strings.HasPrefix(text, "TZ=") || strings.HasPrefix(text, "CRON_TZ=") {
		return DriftSchedule{}, landform.Errorf(landform.EINVALID, "drift schedule %q: give the time zone apart, not in the spec", spec)
	}
	if d, ok := strings.CutPrefix(text, "@every "); ok {
		every, err := time.ParseDuration(strings.TrimSpace(d))
		switch {
		case err != nil:
			return DriftSchedule{}, landform.Errorf(landform.EINVALID, "drift schedule %q: invalid duration %q", spec, d)
		case every < time.Second || every%time.Second != 0:
			return DriftSchedule{}, landform.Errorf(landform.EINVALID, "drift schedule %q: @every takes whole seconds, at least 1s", spec)
		}
		s.every = every
		return s, nil
	}
	sched, err := driftParser.Parse(text)
	if err != nil {
		return DriftSchedule{}, landform.Errorf(landform.EINVALID, "drift schedule %q: %v", spec, err)
	}
	ss, ok := sched.(*cron.SpecSchedule)
	if !ok { // the parser makes nothing else but for @every, handled above
		return DriftSchedule{}, landform.Errorf(landform.EINVALID, "drift schedule %q: unsupported", spec)
	}
	s.spec = ss
	// Five years from a leap year's start see every date a spec can name.
	if ss.Next(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)).IsZero() {
		return DriftSchedule{}, landform.Errorf(landform.EINVALID, "drift schedule %q never fires", spec)
	}
	return s, nil
}

// Off reports whether s never fires.
func (s DriftSchedule) Off() bool { return s.spec == nil && s.every == 0 }

// String returns the spec, with the location and jitter when they are
// not the defaults.
func (s DriftSchedule) String() string {
	out := s.Spec
	if s.Location != nil && s.Location != time.UTC {
		out += " " + s.Location.String()
	}
	if s.Jitter > 0 {
		out += fmt.Sprintf(" (jitter %s)", s.Jitter)
	}
	return out
}

// DriftKey is the key of a workspace's drift schedule: repo/workspace.
// Repository names have no "/", so the key names one workspace.
func DriftKey(repo, workspace string) string { return repo + "/" + workspace }

// JitterOffset is key's offset in [0, s.Jitter): whole seconds when the
// jitter is a second or more, from the SHA-256 of key alone, so it is the
// same on every start and every machine, and spread evenly over keys.
func (s DriftSchedule) JitterOffset(key string) time.Duration {
	if s.Jitter <= 0 {
		return 0
	}
	sum := sha256.Sum256([]byte(key))
	h := binary.BigEndian.Uint64(sum[:8])
	if s.Jitter >= time.Second {
		return time.Duration(h%uint64(s.Jitter/time.Second)) * time.Second
	}
	return time.Duration(h % uint64(s.Jitter))
}

// Next returns key's next fire time strictly after after, in s.Location:
// the schedule's next time after after minus key's jitter offset, plus the
// offset. It returns the zero time when s never fires.
func (s DriftSchedule) Next(after time.Time, key string) time.Time {
	if s.Off() {
		return time.Time{}
	}
	j := s.JitterOffset(key)
	t := s.next(after.Add(-j))
	if t.IsZero() {
		return t
	}
	return t.Add(j).In(s.location())
}

func (s DriftSchedule) location() *time.Location {
	if s.Location == nil {
		return time.UTC
	}
	return s.Location
}

// next is the schedule's next time strictly after after, without jitter.
func (s DriftSchedule) next(after time.Time) time.Time {
	loc := s.location()
	if s.every > 0 {
		n := after.UnixNano()
		k := n / int64(s.every)
		if n < 0 && n%int64(s.every) != 0 {
			k-- // floor
		}
		return time.Unix(0, (k+1)*int64(s.every)).In(loc)
	}
	if s.spec.Hour&allHours == allHours {
		// Every hour: elapsed time. The spec has no location of its own,
		// so cron computes in the time's.
		return s.spec.Next(after.In(loc))
	}
	// Given hours: wall-clock times of loc. Cron walks them in UTC, where
	// no time is skipped or repeated, and each is mapped to the instant it
	// first happens; one that happened already (a repeated hour's second
	// pass) is passed over.
	w := wallClock(after, loc)
	for range 10_000 {
		w = s.spec.Next(w)
		if w.IsZero() {
			return w
		}
		if t := fromWallClock(w, loc); t.After(after) {
			return t
		}
	}
	return time.Time{}
}

// wallClock is t's wall-clock time in loc, written as a UTC time.
func wallClock(t time.Time, loc *time.Location) time.Time {
	l := t.In(loc)
	return time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute(), l.Second(), l.Nanosecond(), time.UTC)
}

// fromWallClock is the first instant whose wall-clock time in loc is w
// (written as a UTC time); when loc's clocks skip w, the instant they
// jump, after which every wall-clock time is later than w.
func fromWallClock(w time.Time, loc *time.Location) time.Time {
	// The offsets in effect around w: no place changes its clocks twice
	// within two days.
	var offsets []int
	for _, d := range []time.Duration{-48 * time.Hour, 0, 48 * time.Hour} {
		_, off := w.Add(d).In(loc).Zone()
		offsets = append(offsets, off)
	}
	var first, jump time.Time
	for _, off := range offsets {
		u := w.Add(-time.Duration(off) * time.Second)
		switch wc := wallClock(u, loc); {
		case wc.Equal(w):
			if first.IsZero() || u.Before(first) {
				first = u
			}
		case wc.After(w):
			// w falls in a gap: where u's zone starts, the clocks jumped
			// over it.
			if start, _ := u.In(loc).ZoneBounds(); !start.IsZero() && wallClock(start, loc).After(w) && (jump.IsZero() || start.Before(jump)) {
				jump = start
			}
		}
	}
	switch {
	case !first.IsZero():
		return first.In(loc)
	case !jump.IsZero():
		return jump.In(loc)
	}
	return time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), w.Nanosecond(), loc)
}

// DriftPlanner decides, at each tick, which workspaces are due and may
// start now. It is not safe for concurrent use: the daemon's scheduling
// loop owns it.
type DriftPlanner struct {
	maxParallel int
	entries     map[string]*driftEntry
}

type driftEntry struct {
	s    DriftSchedule
	next time.Time // zero: never
}

// NewDriftPlanner returns a planner that starts at most maxParallel checks
// at once (at least 1).
func NewDriftPlanner(maxParallel int) *DriftPlanner {
	return &DriftPlanner{maxParallel: max(maxParallel, 1), entries: make(map[string]*driftEntry)}
}

// Set adds or replaces key's schedule; its next fire time is s.Next(now,
// key). Setting the schedule key has already (same spec, location and
// jitter) changes nothing, so the daemon may set every workspace's
// schedule on each reload without moving due times on. A schedule that
// never fires is kept but never due.
func (p *DriftPlanner) Set(key string, s DriftSchedule, now time.Time) {
	if e, ok := p.entries[key]; ok && sameSchedule(e.s, s) {
		return
	}
	p.entries[key] = &driftEntry{s: s, next: s.Next(now, key)}
}

func sameSchedule(a, b DriftSchedule) bool {
	return a.Spec == b.Spec && a.Jitter == b.Jitter && a.location().String() == b.location().String()
}

// Remove forgets key (a workspace that is gone).
func (p *DriftPlanner) Remove(key string) { delete(p.entries, key) }

// Len returns how many keys p has.
func (p *DriftPlanner) Len() int { return len(p.entries) }

// NextOf returns key's next fire time, zero when it never fires or p does
// not have it.
func (p *DriftPlanner) NextOf(key string) time.Time {
	if e, ok := p.entries[key]; ok {
		return e.next
	}
	return time.Time{}
}

// Due returns the keys whose next fire time is not after now, earliest
// first (ties by key), that may start: at most maxParallel minus the keys
// running says are queued or running already. Each key returned has its
// next fire time moved to its schedule's next after now. A due key whose
// check is still queued or running is not returned (never two checks of
// one workspace): its next fire time moves on likewise, dropping the
// occurrence. Due keys beyond the limit stay due, and come first at a
// later call. running may be nil (nothing runs).
func (p *DriftPlanner) Due(now time.Time, running func(key string) bool) []string {
	if running == nil {
		running = func(string) bool { return false }
	}
	busy := 0
	type due struct {
		key  string
		next time.Time
	}
	var dues []due
	for key, e := range p.entries {
		r := running(key)
		if r {
			busy++
		}
		if e.next.IsZero() || e.next.After(now) {
			continue
		}
		if r {
			e.next = e.s.Next(now, key)
			continue
		}
		dues = append(dues, due{key, e.next})
	}
	slices.SortFunc(dues, func(a, b due) int {
		return cmp.Or(a.next.Compare(b.next), strings.Compare(a.key, b.key))
	})
	free := max(p.maxParallel-busy, 0)
	var out []string
	for _, d := range dues[:min(free, len(dues))] {
		e := p.entries[d.key]
		e.next = e.s.Next(now, d.key)
		out = append(out, d.key)
	}
	return out
}

// Waiting returns how many keys are due at now and not started: after
// Due, those waiting for a free slot.
func (p *DriftPlanner) Waiting(now time.Time) int {
	n := 0
	for _, e := range p.entries {
		if !e.next.IsZero() && !e.next.After(now) {
			n++
		}
	}
	return n
}

// NextWake returns the earliest next fire time of all keys, zero when none
// will fire. A time not after now means keys are due but wait for a free
// slot: call Due again when a check finishes.
func (p *DriftPlanner) NextWake() time.Time {
	var first time.Time
	for _, e := range p.entries {
		if !e.next.IsZero() && (first.IsZero() || e.next.Before(first)) {
			first = e.next
		}
	}
	return first
}
