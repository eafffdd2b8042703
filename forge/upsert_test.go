package forge

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/landform/landform"
)

// memClient is an in-memory forge: comments per pull request, in the order
// they were made, and a log of the calls that change them.
type memClient struct {
	mu       sync.Mutex
	next     int64
	clock    time.Time
	comments map[int][]Comment
	calls    []string // "create #n", "edit #n/id", "delete #n/id"
	maxLen   int
}

var _ Client = (*memClient)(nil)

func newMem() *memClient {
	return &memClient{
		clock:    time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		comments: map[int][]Comment{},
		maxLen:   MaxCommentGitHub,
	}
}

// add puts a comment on number as if someone wrote it.
func (m *memClient) add(number int, body string) Comment {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.next++
	m.clock = m.clock.Add(time.Minute)
	c := Comment{ID: m.next, Author: "landform", Body: body, CreatedAt: m.clock, UpdatedAt: m.clock}
	m.comments[number] = append(m.comments[number], c)
	return c
}

func (m *memClient) log(format string, args ...any) {
	m.calls = append(m.calls, fmt.Sprintf(format, args...))
}

// takeCalls returns the calls made since the last takeCalls.
func (m *memClient) takeCalls() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	calls := m.calls
	m.calls = nil
	return calls
}

// bodies returns the bodies on number, in page order.
func (m *memClient) bodies(number int) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for _, c := range m.comments[number] {
		out = append(out, c.Body)
	}
	return out
}

func (m *memClient) Kind() Kind { return GitHub }

func (m *memClient) ListPullRequests(context.Context) ([]PullRequest, error) { return nil, nil }

func (m *memClient) ListComments(_ context.Context, number int, since time.Time) ([]Comment, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Comment
	for _, c := range m.comments[number] {
		if !c.UpdatedAt.Before(since) {
			out = append(out, c)
		}
	}
	return out, nil
}

func (m *memClient) CreateComment(_ context.Context, number int, body string) (Comment, error) {
	c := m.add(number, body)
	m.mu.Lock()
	m.log("create #%d", number)
	m.mu.Unlock()
	return c, nil
}

func (m *memClient) EditComment(_ context.Context, number int, id int64, body string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.log("edit #%d/%d", number, id)
	for i, c := range m.comments[number] {
		if c.ID == id {
			m.clock = m.clock.Add(time.Minute)
			m.comments[number][i].Body, m.comments[number][i].UpdatedAt = body, m.clock
			return nil
		}
	}
	return landform.Errorf(landform.ENOTFOUND, "memforge: no comment %d on #%d", id, number)
}

func (m *memClient) DeleteComment(_ context.Context, number int, id int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.log("delete #%d/%d", number, id)
	cs := m.comments[number]
	for i, c := range cs {
		if c.ID == id {
			m.comments[number] = slices.Delete(cs, i, i+1)
			return nil
		}
	}
	return landform.Errorf(landform.ENOTFOUND, "memforge: no comment %d on #%d", id, number)
}

func (m *memClient) SetStatus(context.Context, Status) error { return nil }

func (m *memClient) CreateIssue(context.Context, string, string) (Issue, error) {
	return Issue{}, nil
}

func (m *memClient) EditIssue(context.Context, int, string, string, bool) (Issue, error) {
	return Issue{}, nil
}

func (m *memClient) FindIssue(context.Context, string) (*Issue, error) { return nil, nil }

func (m *memClient) IsTeamMember(context.Context, string, string) (bool, error) { return false, nil }

func (m *memClient) MaxCommentLength() int { return m.maxLen }

func TestMarker(t *testing.T) {
	if got, want := Marker("preview"), "<!-- landform:preview -->"; got != want {
		t.Errorf("Marker = %q, want %q", got, want)
	}
}

func TestUpsertCreatesThenEditsThenLeavesAlone(t *testing.T) {
	m := newMem()
	ctx := t.Context()
	mk := Marker("preview")
	human := m.add(7, "looks good to me")
	part := m.add(7, mk+":0\nsomething else's part")

	first, err := Upsert(ctx, m, 7, mk, mk+"\nplan: 1 to add")
	if err != nil {
		t.Fatal(err)
	}
	if got := m.takeCalls(); !slices.Equal(got, []string{"create #7"}) {
		t.Errorf("first Upsert: calls %v, want one create", got)
	}

	same, err := Upsert(ctx, m, 7, mk, mk+"\nplan: 1 to add")
	if err != nil {
		t.Fatal(err)
	}
	if got := m.takeCalls(); len(got) != 0 || same.ID != first.ID {
		t.Errorf("same body: calls %v on comment %d, want none on %d", got, same.ID, first.ID)
	}

	edited, err := Upsert(ctx, m, 7, mk, mk+"\nplan: 2 to change")
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("edit #7/%d", first.ID)
	if got := m.takeCalls(); !slices.Equal(got, []string{want}) || edited.ID != first.ID || edited.Body != mk+"\nplan: 2 to change" {
		t.Errorf("new body: calls %v, comment %+v; want [%s] on %d", got, edited, want, first.ID)
	}
	if got := m.bodies(7); !slices.Equal(got, []string{human.Body, part.Body, mk + "\nplan: 2 to change"}) {
		t.Errorf("comments now %q", got)
	}
}

func TestUpsertEditsTheOldestOfSeveral(t *testing.T) {
	m := newMem()
	mk := Marker("drift")
	older := m.add(3, mk+"\nold")
	newer := m.add(3, mk+"\nnewer")
	// A forge that lists newest first must not change which one is kept.
	m.comments[3] = []Comment{newer, older}

	got, err := Upsert(t.Context(), m, 3, mk, mk+"\nnow")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != older.ID {
		t.Errorf("edited comment %d, want the oldest, %d", got.ID, older.ID)
	}
	if calls := m.takeCalls(); !slices.Equal(calls, []string{fmt.Sprintf("edit #3/%d", older.ID)}) {
		t.Errorf("calls %v", calls)
	}
}

func TestUpsertRefusesBadBodies(t *testing.T) {
	m := newMem()
	m.maxLen = 40
	mk := Marker("preview")
	for _, tc := range []struct{ name, marker, body string }{
		{"empty marker", "", "anything"},
		{"body without the marker", mk, "plan: 1 to add"},
		{"only a part's marker", mk, mk + ":0 plan"},
		{"too long", mk, mk + strings.Repeat("é", 20)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Upsert(t.Context(), m, 1, tc.marker, tc.body)
			if landform.ErrorCode(err) != landform.EINVALID {
				t.Errorf("Upsert = %v, want EINVALID", err)
			}
			if calls := m.takeCalls(); len(calls) != 0 {
				t.Errorf("calls %v, want none", calls)
			}
		})
	}
}

// parts returns n parts of a preview under marker, each saying what.
func parts(marker string, n int, what string) []string {
	var out []string
	for i := range n {
		out = append(out, fmt.Sprintf("%s:%d\npart %d of %d: %s", marker, i, i+1, n, what))
	}
	return out
}

// checkParts fails unless the comments of number that carry a part of
// marker are exactly want, in order, among the comments of others.
func checkParts(t *testing.T, m *memClient, number int, marker string, want []string) {
	t.Helper()
	var got []string
	for _, b := range m.bodies(number) {
		if _, ok := partIndex(b, marker); ok {
			got = append(got, b)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("parts on #%d:\n got %q\nwant %q", number, got, want)
	}
}

func TestUpsertPartsKeepsCommentsInPlace(t *testing.T) {
	m := newMem()
	ctx := t.Context()
	mk := Marker("preview")
	m.add(9, "a human comment")

	steps := []struct {
		name  string
		parts []string
		calls []string // with ids from the comments made so far
	}{
		{"three new parts", parts(mk, 3, "v1"), []string{"create #9", "create #9", "create #9"}},
		{"same three", parts(mk, 3, "v1"), nil},
		{"one part changes", append(parts(mk, 3, "v1")[:1:1], append([]string{mk + ":1\nchanged"}, parts(mk, 3, "v1")[2:]...)...), []string{"edit #9/3"}},
		{"shorter: the last part goes", parts(mk, 2, "v2"), []string{"edit #9/2", "edit #9/3", "delete #9/4"}},
		{"longer: a part is added after", parts(mk, 3, "v3"), []string{"edit #9/2", "edit #9/3", "create #9"}},
		{"no parts", nil, []string{"delete #9/2", "delete #9/3", "delete #9/5"}},
	}
	for _, s := range steps {
		if err := UpsertParts(ctx, m, 9, mk, s.parts); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if got := m.takeCalls(); !slices.Equal(got, s.calls) {
			t.Errorf("%s: calls %v, want %v", s.name, got, s.calls)
		}
		checkParts(t, m, 9, mk, s.parts)
	}
	if got := m.bodies(9); !slices.Equal(got, []string{"a human comment"}) {
		t.Errorf("left on #9: %q", got)
	}
}

func TestUpsertPartsRecreatesWhatFollowsAMissingPart(t *testing.T) {
	m := newMem()
	ctx := t.Context()
	mk := Marker("preview")
	if err := UpsertParts(ctx, m, 4, mk, parts(mk, 3, "v1")); err != nil {
		t.Fatal(err)
	}
	// Someone deletes part 1 (comment 2); parts 0 and 2 are left.
	if err := m.DeleteComment(ctx, 4, 2); err != nil {
		t.Fatal(err)
	}
	m.takeCalls()

	want := parts(mk, 3, "v2")
	if err := UpsertParts(ctx, m, 4, mk, want); err != nil {
		t.Fatal(err)
	}
	wantCalls := []string{"edit #4/1", "create #4", "create #4", "delete #4/3"}
	if got := m.takeCalls(); !slices.Equal(got, wantCalls) {
		t.Errorf("calls %v, want %v", got, wantCalls)
	}
	checkParts(t, m, 4, mk, want)
}

func TestUpsertPartsDeletesDuplicatesAndTellsPart1From10(t *testing.T) {
	m := newMem()
	ctx := t.Context()
	mk := Marker("preview")
	eleven := parts(mk, 11, "v1")
	if err := UpsertParts(ctx, m, 5, mk, eleven); err != nil {
		t.Fatal(err)
	}
	dup := m.add(5, eleven[1]) // a second run raced and posted part 1 again
	m.takeCalls()

	next := parts(mk, 11, "v1")
	next[10] = mk + ":10\nonly part 10 changed"
	if err := UpsertParts(ctx, m, 5, mk, next); err != nil {
		t.Fatal(err)
	}
	wantCalls := []string{"edit #5/11", fmt.Sprintf("delete #5/%d", dup.ID)}
	if got := m.takeCalls(); !slices.Equal(got, wantCalls) {
		t.Errorf("calls %v, want %v", got, wantCalls)
	}
	checkParts(t, m, 5, mk, next)
}

// goneClient deletes nothing and says every comment is already gone.
type goneClient struct{ *memClient }

func (g goneClient) DeleteComment(_ context.Context, number int, id int64) error {
	return landform.Errorf(landform.ENOTFOUND, "no comment %d on #%d", id, number)
}

func TestUpsertPartsToleratesAPartAlreadyGone(t *testing.T) {
	m := newMem()
	mk := Marker("preview")
	if err := UpsertParts(t.Context(), m, 2, mk, parts(mk, 2, "v1")); err != nil {
		t.Fatal(err)
	}
	if err := UpsertParts(t.Context(), goneClient{m}, 2, mk, parts(mk, 1, "v1")); err != nil {
		t.Errorf("UpsertParts = %v, want a part already gone to count as deleted", err)
	}
}

func TestUpsertPartsRefusesBadParts(t *testing.T) {
	m := newMem()
	mk := Marker("preview")
	for _, tc := range []struct {
		name   string
		marker string
		parts  []string
	}{
		{"empty marker", "", []string{"x"}},
		{"part without its marker", mk, []string{mk + ":0 a", "b"}},
		{"parts swapped", mk, []string{mk + ":1 a", mk + ":0 b"}},
		{"the whole marker, not a part's", mk, []string{mk + " a"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := UpsertParts(t.Context(), m, 1, tc.marker, tc.parts)
			if landform.ErrorCode(err) != landform.EINVALID {
				t.Errorf("UpsertParts = %v, want EINVALID", err)
			}
			if calls := m.takeCalls(); len(calls) != 0 {
				t.Errorf("calls %v, want none", calls)
			}
		})
	}
}
