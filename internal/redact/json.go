package redact

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
)

// JSON returns the JSON document b with every string (and object key)
// masked as String masks text, and every number that is a known value
// replaced by the Mask string. Unlike Bytes on the document's text, it
// also masks values that JSON escapes (quotes, backslashes, non-ASCII).
// A document that does not parse is an error: it is never returned
// unmasked.
func (r *Redactor) JSON(b []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("redacting JSON: %w", err)
	}
	v = r.walk(v)
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("redacting JSON: %w", err)
	}
	return bytes.TrimRight(out.Bytes(), "\n"), nil
}

func (r *Redactor) walk(v any) any {
	switch x := v.(type) {
	case string:
		return r.String(x)
	case json.Number:
		if r != nil && slices.Contains(r.values, x.String()) {
			return Mask
		}
		return x
	case []any:
		for i := range x {
			x[i] = r.walk(x[i])
		}
		return x
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, val := range x {
			out[r.String(k)] = r.walk(val)
		}
		return out
	}
	return v
}
