package config

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/landform/landform"
)

// FieldError is one problem in a configuration file.
type FieldError struct {
	File string
	// Line and Column are 1-based; 0 when unknown (yaml syntax errors carry a
	// line at most).
	Line, Column int
	// Field is the path of the field at fault, such as "workspaces[1].dir";
	// "" for the file as a whole.
	Field string
	Msg   string
}

// Error renders the problem as "file:line:column: field: message", leaving
// out the parts that are unknown or empty.
func (e *FieldError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
		if e.Column > 0 {
			fmt.Fprintf(&b, ":%d", e.Column)
		}
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// ValidationError is every problem found in one file, in the order of
// their positions.
type ValidationError struct {
	Errors []*FieldError
}

// Error renders one problem per line.
func (e *ValidationError) Error() string {
	lines := make([]string, len(e.Errors))
	for i, fe := range e.Errors {
		lines[i] = fe.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns the problems, so that errors.As finds a *FieldError.
func (e *ValidationError) Unwrap() []error {
	errs := make([]error, len(e.Errors))
	for i, fe := range e.Errors {
		errs[i] = fe
	}
	return errs
}

// invalid returns errs, sorted by position, as an EINVALID *landform.Error
// whose cause is a *ValidationError; nil when errs is empty.
func invalid(errs []*FieldError) error {
	if len(errs) == 0 {
		return nil
	}
	errs = slices.Clone(errs)
	slices.SortStableFunc(errs, func(a, b *FieldError) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
	})
	ve := &ValidationError{Errors: errs}
	return &landform.Error{Code: landform.EINVALID, Message: ve.Error(), Err: ve}
}
