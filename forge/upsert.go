package forge

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/landform/landform"
)

// Marker returns the hidden marker by which Landform finds its comment
// named name again: the HTML comment "<!-- landform:NAME -->", which the
// forges do not render.
func Marker(name string) string {
	return "<!-- landform:" + name + " -->"
}

// Upsert makes body the comment of pull request number that carries
// marker: it edits that comment when its body differs, creates one when
// there is none, and leaves it alone when it already says body. When
// several comments carry the marker, the oldest is kept and edited (the
// others are left as they are). body must contain marker, so that the next
// call finds the comment again.
//
// A comment whose marker is followed by ":" and a number is a part of
// UpsertParts and is not Upsert's: use one or the other for a marker.
//
// Returns EINVALID for an empty marker, a body without it or a body longer
// than c.MaxCommentLength(); otherwise the forge's error, wrapped.
func Upsert(ctx context.Context, c Client, number int, marker string, body string) (Comment, error) {
	if err := checkBody(c, marker, body, hasMarker(body, marker)); err != nil {
		return Comment{}, err
	}
	comments, err := c.ListComments(ctx, number, time.Time{})
	if err != nil {
		return Comment{}, fmt.Errorf("listing the comments of #%d: %w", number, err)
	}
	for _, cm := range oldestFirst(comments) {
		if !hasMarker(cm.Body, marker) {
			continue
		}
		if cm.Body == body {
			return cm, nil
		}
		if err := c.EditComment(ctx, number, cm.ID, body); err != nil {
			return Comment{}, fmt.Errorf("editing comment %d of #%d: %w", cm.ID, number, err)
		}
		cm.Body = body
		return cm, nil
	}
	cm, err := c.CreateComment(ctx, number, body)
	if err != nil {
		return Comment{}, fmt.Errorf("commenting on #%d: %w", number, err)
	}
	return cm, nil
}

// UpsertParts makes parts the comments of pull request number that carry
// marker, for a text too long for one comment: part i carries
// marker+":"+i (the caller writes it into parts[i]; UpsertParts adds
// nothing). Existing parts are matched by their marker and edited in place
// when they differ, so that their order on the pull request stays; old parts
// beyond len(parts), and newer duplicates of a part, are deleted (one
// already gone counts as deleted). A part is created only when it is
// missing; then the parts after it are created again too (and their old
// comments deleted), since a comment cannot be moved up the page.
//
// Returns EINVALID for an empty marker, or when a part does not carry its
// marker or is longer than c.MaxCommentLength(); otherwise the first error of the forge, wrapped.
func UpsertParts(ctx context.Context, c Client, number int, marker string, parts []string) error {
	if marker == "" {
		return checkBody(c, marker, "", false)
	}
	for i, p := range parts {
		n, ok := partIndex(p, marker)
		if err := checkBody(c, marker+":"+strconv.Itoa(i), p, ok && n == i); err != nil {
			return fmt.Errorf("part %d: %w", i, err)
		}
	}
	comments, err := c.ListComments(ctx, number, time.Time{})
	if err != nil {
		return fmt.Errorf("listing the comments of #%d: %w", number, err)
	}
	sorted := oldestFirst(comments)
	kept := make([]int, len(parts)) // index in sorted of part i's comment, -1 for none
	for i := range kept {
		kept[i] = -1
	}
	var stale []Comment
	for j, cm := range sorted {
		n, ok := partIndex(cm.Body, marker)
		switch {
		case !ok:
		case n < len(parts) && kept[n] < 0:
			kept[n] = j
		default:
			stale = append(stale, cm)
		}
	}
	// Parts before cut are edited in place; from cut on, a part is missing
	// or older than the one before it, and they are all created anew.
	cut := len(parts)
	for i, j := range kept {
		if j < 0 || (i > 0 && j < kept[i-1]) {
			cut = i
			break
		}
	}
	for i, j := range kept[:cut] {
		cm := sorted[j]
		if cm.Body == parts[i] {
			continue
		}
		if err := c.EditComment(ctx, number, cm.ID, parts[i]); err != nil {
			return fmt.Errorf("editing part %d (comment %d) of #%d: %w", i, cm.ID, number, err)
		}
	}
	for i := cut; i < len(parts); i++ {
		if _, err := c.CreateComment(ctx, number, parts[i]); err != nil {
			return fmt.Errorf("commenting part %d on #%d: %w", i, number, err)
		}
		if j := kept[i]; j >= 0 {
			stale = append(stale, sorted[j])
		}
	}
	for _, cm := range stale {
		err := c.DeleteComment(ctx, number, cm.ID)
		if err != nil && landform.ErrorCode(err) != landform.ENOTFOUND {
			return fmt.Errorf("deleting the old part (comment %d) of #%d: %w", cm.ID, number, err)
		}
	}
	return nil
}

// checkBody returns EINVALID when marker is empty, when the body does not
// carry it (carries is false), or when body is longer than c accepts.
func checkBody(c Client, marker, body string, carries bool) error {
	switch {
	case marker == "":
		return landform.Errorf(landform.EINVALID, "an empty comment marker would match every comment")
	case !carries:
		return landform.Errorf(landform.EINVALID, "the comment does not carry its marker %q", marker)
	}
	if n, limit := utf8.RuneCountInString(body), c.MaxCommentLength(); n > limit {
		return landform.Errorf(landform.EINVALID, "the comment is %d characters long, %s accepts %d", n, c.Kind(), limit)
	}
	return nil
}

// hasMarker says whether body carries marker itself, not only a part's
// marker (marker followed by ":" and a digit).
func hasMarker(body, marker string) bool {
	for rest := body; ; {
		i := strings.Index(rest, marker)
		if i < 0 {
			return false
		}
		rest = rest[i+len(marker):]
		if !startsWithPart(rest) {
			return true
		}
	}
}

// partIndex returns i when body carries marker+":"+i.
func partIndex(body, marker string) (int, bool) {
	for rest := body; ; {
		i := strings.Index(rest, marker)
		if i < 0 {
			return 0, false
		}
		rest = rest[i+len(marker):]
		if !startsWithPart(rest) {
			continue
		}
		digits := rest[1:]
		end := strings.IndexFunc(digits, func(r rune) bool { return r < '0' || r > '9' })
		if end < 0 {
			end = len(digits)
		}
		if n, err := strconv.Atoi(digits[:end]); err == nil {
			return n, true
		}
	}
}

func startsWithPart(s string) bool {
	return len(s) >= 2 && s[0] == ':' && s[1] >= '0' && s[1] <= '9'
}

// oldestFirst returns a copy of comments sorted by creation, then ID.
func oldestFirst(comments []Comment) []Comment {
	sorted := slices.Clone(comments)
	slices.SortStableFunc(sorted, func(a, b Comment) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	return sorted
}
