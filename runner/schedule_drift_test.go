package runner

import (
	"fmt"
	"slices"
	"testing"
	"time"
	_ "time/tzdata" // Europe/Berlin on machines without a zone database

	"github.com/landform/landform"
)

func berlin(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func mustSchedule(t *testing.T, spec string, loc *time.Location, jitter time.Duration) DriftSchedule {
	t.Helper()
	s, err := ParseDriftSchedule(spec, loc, jitter)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// clockAt is a fake clock showing start.
func clockAt(start time.Time) *fakeClock {
	c := newFakeClock()
	c.t = start
	return c
}

// runPlanner drives p like the daemon's drift loop does, on clk: Due at
// each wake, then a timer for NextWake, until the next wake is after
// until. It returns the times each key was returned by Due. With running
// nil, a key left due after Due is a failure (nothing holds a slot).
func runPlanner(t *testing.T, clk *fakeClock, p *DriftPlanner, until time.Time, running func(string) bool) map[string][]time.Time {
	t.Helper()
	fired := map[string][]time.Time{}
	for range 1_000_000 {
		now := clk.now()
		for _, k := range p.Due(now, running) {
			fired[k] = append(fired[k], now)
		}
		next := p.NextWake()
		if next.IsZero() || next.After(until) {
			return fired
		}
		if !next.After(now) {
			if running == nil {
				t.Fatalf("at %s: keys still due after Due with nothing running", now)
			}
			return fired
		}
		d := next.Sub(now)
		ch, _ := clk.after(d)
		clk.advance(d)
		<-ch
	}
	t.Fatal("runPlanner did not end")
	return nil
}

func TestDriftNightlyAcrossDays(t *testing.T) {
	loc := berlin(t)
	for _, tc := range []struct {
		name       string
		start, end time.Time
		want       []string // the fire times, in loc
	}{
		{
			name:  "plain days",
			start: time.Date(2025, 1, 10, 12, 0, 0, 0, loc), end: time.Date(2025, 1, 14, 0, 0, 0, 0, loc),
			want: []string{"2025-01-11 02:00 CET", "2025-01-12 02:00 CET", "2025-01-13 02:00 CET"},
		},
		{
			// 02:00 does not exist on March 30th: it fires when the
			// clocks jump, at 03:00 CEST, and once.
			name:  "spring forward",
			start: time.Date(2025, 3, 28, 12, 0, 0, 0, loc), end: time.Date(2025, 4, 1, 0, 0, 0, 0, loc),
			want: []string{"2025-03-29 02:00 CET", "2025-03-30 03:00 CEST", "2025-03-31 02:00 CEST"},
		},
		{
			// 02:00 happens twice on October 26th: it fires the first
			// time only.
			name:  "fall back",
			start: time.Date(2025, 10, 24, 12, 0, 0, 0, loc), end: time.Date(2025, 10, 28, 0, 0, 0, 0, loc),
			want: []string{"2025-10-25 02:00 CEST", "2025-10-26 02:00 CEST", "2025-10-27 02:00 CET"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := clockAt(tc.start)
			p := NewDriftPlanner(4)
			p.Set("infra/app", mustSchedule(t, landform.DriftNightly, loc, 0), clk.now())
			fired := runPlanner(t, clk, p, tc.end, nil)
			var got []string
			for _, at := range fired["infra/app"] {
				got = append(got, at.In(loc).Format("2006-01-02 15:04 MST"))
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("fired at %q, want %q", got, tc.want)
			}
		})
	}
}

func TestDriftNightlyIsUTCByDefault(t *testing.T) {
	s := mustSchedule(t, landform.DriftNightly, nil, 0)
	got := s.Next(time.Date(2025, 6, 1, 2, 0, 0, 0, time.UTC), "k")
	if want := time.Date(2025, 6, 2, 2, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("Next = %s, want %s (strictly after 02:00)", got, want)
	}
	if s.Location != time.UTC {
		t.Errorf("Location = %v, want UTC", s.Location)
	}
}

func TestDriftQuarterHourly(t *testing.T) {
	loc := berlin(t)
	for _, tc := range []struct {
		name string
		loc  *time.Location
		day  time.Time
		want int
	}{
		{"UTC", time.UTC, time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC), 96},
		{"Berlin", loc, time.Date(2025, 6, 1, 0, 0, 0, 0, loc), 96},
		// Every 15 minutes of real time: a 23-hour day and a 25-hour day.
		{"Berlin spring forward", loc, time.Date(2025, 3, 30, 0, 0, 0, 0, loc), 92},
		{"Berlin fall back", loc, time.Date(2025, 10, 26, 0, 0, 0, 0, loc), 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Start a second before the day so that its 00:00 counts.
			clk := clockAt(tc.day.Add(-time.Second))
			p := NewDriftPlanner(1)
			p.Set("infra/app", mustSchedule(t, "*/15 * * * *", tc.loc, 0), clk.now())
			end := time.Date(tc.day.Year(), tc.day.Month(), tc.day.Day()+1, 0, 0, 0, 0, tc.loc)
			fired := runPlanner(t, clk, p, end.Add(-time.Second), nil)["infra/app"]
			if len(fired) != tc.want {
				t.Errorf("fired %d times, want %d", len(fired), tc.want)
			}
			for i := 1; i < len(fired); i++ {
				if d := fired[i].Sub(fired[i-1]); d != 15*time.Minute {
					t.Fatalf("%s after %s: %s apart, want 15m", fired[i].In(tc.loc), fired[i-1].In(tc.loc), d)
				}
			}
		})
	}
}

func TestDriftGivenHoursAcrossDST(t *testing.T) {
	loc := berlin(t)
	for _, tc := range []struct {
		spec       string
		start, end time.Time
		want       []string
	}{
		// Every time of the skipped hour fires once, when it ends.
		{"*/20 2 * * *", time.Date(2025, 3, 30, 0, 0, 0, 0, loc), time.Date(2025, 3, 30, 23, 0, 0, 0, loc),
			[]string{"2025-03-30 03:00 CEST"}},
		{"30 1-3 * * *", time.Date(2025, 3, 30, 0, 0, 0, 0, loc), time.Date(2025, 3, 30, 23, 0, 0, 0, loc),
			[]string{"2025-03-30 01:30 CET", "2025-03-30 03:00 CEST", "2025-03-30 03:30 CEST"}},
		// The repeated hour fires the first time only.
		{"*/20 2 * * *", time.Date(2025, 10, 26, 0, 0, 0, 0, loc), time.Date(2025, 10, 26, 23, 0, 0, 0, loc),
			[]string{"2025-10-26 02:00 CEST", "2025-10-26 02:20 CEST", "2025-10-26 02:40 CEST"}},
		{"0 1-3 * * *", time.Date(2025, 10, 26, 0, 0, 0, 0, loc), time.Date(2025, 10, 26, 23, 0, 0, 0, loc),
			[]string{"2025-10-26 01:00 CEST", "2025-10-26 02:00 CEST", "2025-10-26 03:00 CET"}},
	} {
		t.Run(tc.spec+" "+tc.start.Format("2006-01-02"), func(t *testing.T) {
			clk := clockAt(tc.start)
			p := NewDriftPlanner(1)
			p.Set("k", mustSchedule(t, tc.spec, loc, 0), clk.now())
			var got []string
			for _, at := range runPlanner(t, clk, p, tc.end, nil)["k"] {
				got = append(got, at.In(loc).Format("2006-01-02 15:04 MST"))
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("fired at %q, want %q", got, tc.want)
			}
		})
	}
	// Started in the second pass of the repeated hour, the next 02:20 is
	// tomorrow's: today's happened an hour ago.
	s := mustSchedule(t, "20 2 * * *", loc, 0)
	second := time.Date(2025, 10, 26, 1, 10, 0, 0, time.UTC) // 02:10 CET
	if got, want := s.Next(second, "k"), time.Date(2025, 10, 27, 2, 20, 0, 0, loc); !got.Equal(want) {
		t.Errorf("Next(%s) = %s, want %s", second.In(loc), got, want)
	}
}

func TestDriftJitter(t *testing.T) {
	const jitter = time.Hour
	s := mustSchedule(t, landform.DriftNightly, time.UTC, jitter)
	// Pinned: a change of the hash moves every workspace's checks.
	if got, want := s.JitterOffset("infra/envs/prod/app"), pinnedOffset; got != want {
		t.Errorf("JitterOffset(infra/envs/prod/app) = %s, want %s", got, want)
	}
	var buckets [4]int
	seen := map[time.Duration]bool{}
	after := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	for i := range 400 {
		key := DriftKey("infra", fmt.Sprintf("envs/ws%d", i))
		off := s.JitterOffset(key)
		if off < 0 || off >= jitter || off%time.Second != 0 {
			t.Fatalf("offset %s of %s: want whole seconds in [0, %s)", off, key, jitter)
		}
		again := mustSchedule(t, landform.DriftNightly, time.UTC, jitter)
		if again.JitterOffset(key) != off {
			t.Fatalf("offset of %s not stable", key)
		}
		seen[off] = true
		buckets[off/(jitter/4)]++
		next := s.Next(after, key)
		if want := time.Date(2025, 6, 2, 2, 0, 0, 0, time.UTC).Add(off); !next.Equal(want) {
			t.Fatalf("Next for %s = %s, want %s", key, next, want)
		}
		// Strictly after, even inside the jitter window.
		if n2 := s.Next(next, key); !n2.Equal(next.AddDate(0, 0, 1)) {
			t.Fatalf("Next(%s) for %s = %s, want a day later", next, key, n2)
		}
	}
	if len(seen) < 360 { // 400 keys in 3600 seconds: about 22 collide
		t.Errorf("%d distinct offsets of 400 keys", len(seen))
	}
	for i, n := range buckets {
		if n < 60 {
			t.Errorf("quarter %d of the jitter holds %d of 400 keys: %v", i, n, buckets)
		}
	}
	// Under a second: nanoseconds, still in range.
	small := mustSchedule(t, "@every 10s", nil, 500*time.Millisecond)
	if off := small.JitterOffset("a/b"); off < 0 || off >= 500*time.Millisecond {
		t.Errorf("offset %s", off)
	}
	if off := mustSchedule(t, landform.DriftNightly, nil, 0).JitterOffset("a/b"); off != 0 {
		t.Errorf("offset %s without jitter", off)
	}
}

// pinnedOffset is JitterOffset("infra/envs/prod/app") of a 1h jitter.
const pinnedOffset = 32*time.Minute + 22*time.Second

func TestDriftJitterSpreadsADay(t *testing.T) {
	start := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	clk := clockAt(start)
	p := NewDriftPlanner(256)
	s := mustSchedule(t, landform.DriftNightly, time.UTC, 30*time.Minute)
	for i := range 50 {
		p.Set(DriftKey("infra", fmt.Sprintf("ws%d", i)), s, clk.now())
	}
	fired := runPlanner(t, clk, p, start.Add(24*time.Hour-time.Second), nil)
	times := map[time.Time]bool{}
	for key, at := range fired {
		if len(at) != 1 {
			t.Fatalf("%s fired %d times in a day", key, len(at))
		}
		from := time.Date(2025, 6, 1, 2, 0, 0, 0, time.UTC)
		if at[0].Before(from) || !at[0].Before(from.Add(30*time.Minute)) {
			t.Errorf("%s fired at %s, want in [02:00, 02:30)", key, at[0])
		}
		times[at[0]] = true
	}
	if len(fired) != 50 || len(times) < 45 {
		t.Errorf("%d keys fired at %d distinct times", len(fired), len(times))
	}
}

func TestDriftMaxParallel(t *testing.T) {
	start := time.Date(2025, 6, 1, 1, 59, 0, 0, time.UTC)
	s := mustSchedule(t, landform.DriftNightly, time.UTC, 0)
	p := NewDriftPlanner(3)
	var keys []string
	for i := range 8 {
		key := DriftKey("infra", fmt.Sprintf("ws%d", i))
		keys = append(keys, key)
		p.Set(key, s, start)
	}
	running := map[string]bool{}
	isRunning := func(k string) bool { return running[k] }
	at := time.Date(2025, 6, 1, 2, 0, 0, 0, time.UTC)
	if got := p.Due(at.Add(-time.Second), isRunning); len(got) != 0 {
		t.Fatalf("due before 02:00: %v", got)
	}
	if got := p.NextWake(); !got.Equal(at) {
		t.Fatalf("NextWake = %s, want %s", got, at)
	}
	if n := p.Waiting(at.Add(-time.Second)); n != 0 {
		t.Errorf("waiting before 02:00: %d", n)
	}
	first := p.Due(at, isRunning)
	if !slices.Equal(first, keys[:3]) {
		t.Fatalf("Due = %v, want %v", first, keys[:3])
	}
	if n := p.Waiting(at); n != 5 {
		t.Errorf("waiting for a slot after the first three: %d, want 5", n)
	}
	for _, k := range first {
		running[k] = true
		if next := p.NextOf(k); !next.Equal(at.AddDate(0, 0, 1)) {
			t.Errorf("next of %s = %s, want tomorrow", k, next)
		}
	}
	// The rest stay due; every slot is taken.
	if got := p.NextWake(); !got.Equal(at) {
		t.Errorf("NextWake = %s, want %s (keys waiting)", got, at)
	}
	if got := p.Due(at.Add(time.Minute), isRunning); len(got) != 0 {
		t.Fatalf("Due with every slot taken = %v", got)
	}
	// Two finish: two more start, in due order.
	running[keys[0]], running[keys[1]] = false, false
	if got := p.Due(at.Add(2*time.Minute), isRunning); !slices.Equal(got, keys[3:5]) {
		t.Fatalf("Due = %v, want %v", got, keys[3:5])
	}
	for _, k := range keys[3:5] {
		running[k] = true
	}
	clear(running)
	if got := p.Due(at.Add(3*time.Minute), isRunning); !slices.Equal(got, keys[5:8]) {
		t.Fatalf("Due = %v, want %v", got, keys[5:8])
	}
	if got := p.NextWake(); !got.Equal(at.AddDate(0, 0, 1)) {
		t.Errorf("NextWake = %s, want tomorrow 02:00", got)
	}
	// Running checks of keys that are not due take slots too.
	for _, k := range keys[:3] {
		running[k] = true
	}
	p.Set("other/ws", mustSchedule(t, "@every 1m", nil, 0), at)
	if got := p.Due(at.Add(time.Hour), isRunning); len(got) != 0 {
		t.Errorf("Due with 3 of 3 slots taken = %v", got)
	}
	if got := NewDriftPlanner(0).maxParallel; got != 1 {
		t.Errorf("NewDriftPlanner(0) starts %d at once, want 1", got)
	}
}

func TestDriftEarliestDueFirst(t *testing.T) {
	start := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	p := NewDriftPlanner(1)
	p.Set("z/late", mustSchedule(t, "0 3 * * *", nil, 0), start)
	p.Set("a/later", mustSchedule(t, "0 4 * * *", nil, 0), start)
	p.Set("m/early", mustSchedule(t, "0 2 * * *", nil, 0), start)
	now := time.Date(2025, 6, 1, 5, 0, 0, 0, time.UTC)
	var got []string
	for range 3 {
		got = append(got, p.Due(now, nil)...)
	}
	if want := []string{"m/early", "z/late", "a/later"}; !slices.Equal(got, want) {
		t.Errorf("order %v, want %v", got, want)
	}
}

func TestDriftRunningIsNotDoubled(t *testing.T) {
	start := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	clk := clockAt(start)
	p := NewDriftPlanner(4)
	p.Set("infra/slow", mustSchedule(t, "*/15 * * * *", nil, 0), clk.now())
	// Each check runs for 40 minutes: the one started at 00:15 makes
	// 00:30 and 00:45 pass, the one of 01:00 01:15 and 01:30.
	var startedAt time.Time
	running := func(string) bool {
		now := clk.now()
		return !startedAt.IsZero() && now.Before(startedAt.Add(40*time.Minute))
	}
	var fired []string
	for range 6 {
		next := p.NextWake()
		d := next.Sub(clk.now())
		ch, _ := clk.after(d)
		clk.advance(d)
		<-ch
		for range p.Due(clk.now(), running) {
			startedAt = clk.now()
			fired = append(fired, clk.now().Format("15:04"))
		}
	}
	if want := []string{"00:15", "01:00"}; !slices.Equal(fired, want) {
		t.Errorf("started at %v, want %v", fired, want)
	}
	if got := p.NextOf("infra/slow"); !got.Equal(start.Add(105 * time.Minute)) {
		t.Errorf("next = %s, want 01:45", got.Format("15:04"))
	}
}

func TestDriftOff(t *testing.T) {
	s := mustSchedule(t, landform.DriftOff, nil, time.Hour)
	if !s.Off() {
		t.Error("off is not Off")
	}
	now := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	if got := s.Next(now, "a/b"); !got.IsZero() {
		t.Errorf("Next = %s, want zero", got)
	}
	if !(DriftSchedule{}).Next(now, "a/b").IsZero() {
		t.Error("the zero DriftSchedule fires")
	}
	p := NewDriftPlanner(1)
	p.Set("a/b", s, now)
	if !p.NextWake().IsZero() {
		t.Errorf("NextWake = %s, want zero", p.NextWake())
	}
	clk := clockAt(now)
	if fired := runPlanner(t, clk, p, now.AddDate(1, 0, 0), nil); len(fired) != 0 {
		t.Errorf("fired %v", fired)
	}
	if got := p.Due(now.AddDate(10, 0, 0), nil); len(got) != 0 {
		t.Errorf("Due = %v", got)
	}
	// Turned on, then off again.
	p.Set("a/b", mustSchedule(t, "@hourly", nil, 0), now)
	if got := p.NextWake(); !got.Equal(now.Add(time.Hour)) {
		t.Errorf("NextWake = %s", got)
	}
	p.Set("a/b", s, now)
	if !p.NextWake().IsZero() {
		t.Error("off again still wakes")
	}
	p.Remove("a/b")
	if p.Len() != 0 {
		t.Error("Remove kept the key")
	}
}

func TestDriftEvery10s(t *testing.T) {
	start := time.Date(2025, 6, 1, 0, 0, 3, 0, time.UTC)
	clk := clockAt(start)
	p := NewDriftPlanner(4)
	p.Set("infra/a", mustSchedule(t, "@every 10s", nil, 0), clk.now())
	fired := runPlanner(t, clk, p, start.Add(time.Minute), nil)["infra/a"]
	var got []string
	for _, at := range fired {
		got = append(got, at.Format("15:04:05"))
	}
	// On the multiples of 10s, so a restart keeps the cadence.
	want := []string{"00:00:10", "00:00:20", "00:00:30", "00:00:40", "00:00:50", "00:01:00"}
	if !slices.Equal(got, want) {
		t.Errorf("fired at %v, want %v", got, want)
	}
	again := NewDriftPlanner(4)
	again.Set("infra/a", mustSchedule(t, "@every 10s", nil, 0), start.Add(25*time.Second))
	if got := again.NextWake(); !got.Equal(start.Add(27 * time.Second)) {
		t.Errorf("after a restart at 00:00:28, next = %s, want 00:00:30", got.Format("15:04:05"))
	}
	// With jitter, each key keeps its own phase.
	j := mustSchedule(t, "@every 10s", nil, 10*time.Second)
	off := j.JitterOffset("infra/a")
	next := j.Next(start, "infra/a")
	if next.Sub(start) <= 0 || next.Sub(start) > 10*time.Second || (next.Sub(start.Truncate(time.Minute))-off)%(10*time.Second) != 0 {
		t.Errorf("Next with offset %s = %s", off, next.Format("15:04:05"))
	}
}

func TestDriftSetKeepsDueTimes(t *testing.T) {
	start := time.Date(2025, 6, 1, 1, 0, 0, 0, time.UTC)
	p := NewDriftPlanner(1)
	s := mustSchedule(t, landform.DriftNightly, time.UTC, 0)
	p.Set("a/b", s, start)
	// Set again after the due time, before Due: still due.
	late := start.Add(2 * time.Hour)
	p.Set("a/b", mustSchedule(t, landform.DriftNightly, time.UTC, 0), late)
	if got := p.Due(late, nil); !slices.Equal(got, []string{"a/b"}) {
		t.Errorf("Due = %v after setting the same schedule again", got)
	}
	// A changed schedule starts over.
	p.Set("a/b", mustSchedule(t, "0 5 * * *", time.UTC, 0), late)
	if got, want := p.NextOf("a/b"), time.Date(2025, 6, 1, 5, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("next = %s, want %s", got, want)
	}
}

func TestParseDriftSchedule(t *testing.T) {
	for _, spec := range []string{
		landform.DriftNightly, landform.DriftOff, "@hourly", "@daily", "@midnight", "@weekly", "@monthly", "@yearly", "@annually",
		"@every 10s", "@every 1m", "@every 1h30m", "*/15 * * * *", "0 2 * * 1-5", "0 0 29 2 *", "0 6 * JAN,JUL MON",
	} {
		if _, err := ParseDriftSchedule(spec, nil, 0); err != nil {
			t.Errorf("ParseDriftSchedule(%q): %v", spec, err)
		}
	}
	for _, spec := range []string{
		"", "nightly", "@reboot", "0 2 * *", "0 0 2 * * *", "@every", "@every x", "@every 500ms", "@every 1.5s",
		"@every -1m", "CRON_TZ=Europe/Berlin 0 2 * * *", "TZ=UTC @daily", "0 0 30 2 *", "61 * * * *", "Off",
	} {
		_, err := ParseDriftSchedule(spec, nil, 0)
		if err == nil {
			t.Errorf("ParseDriftSchedule(%q) accepted", spec)
			continue
		}
		if landform.ErrorCode(err) != landform.EINVALID {
			t.Errorf("ParseDriftSchedule(%q): code %q", spec, landform.ErrorCode(err))
		}
	}
	if _, err := ParseDriftSchedule("@daily", nil, -time.Second); err == nil {
		t.Error("negative jitter accepted")
	}
}
