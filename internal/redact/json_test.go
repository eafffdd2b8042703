package redact

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestJSONMasksEscapedValues(t *testing.T) {
	secret := `p"a\ss<é>`
	red := New([]string{secret, "4242"})
	doc, err := json.Marshal(map[string]any{
		"password": secret, "nested": []any{map[string]any{"v": "x" + secret + "y"}}, "pin": 4242, "port": 80,
		secret: "as a key",
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(red.Bytes(doc)), `p\"a\\ss`) == false {
		t.Fatalf("the test's premise: Bytes misses a value JSON escapes, got %s", red.Bytes(doc))
	}
	got, err := red.JSON(doc)
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(got, &v); err != nil {
		t.Fatalf("JSON gave invalid JSON %s: %v", got, err)
	}
	s := string(got)
	for _, leak := range []string{`p\"a`, "4242", `\u003cé\u003e`, "<é>"} {
		if strings.Contains(s, leak) {
			t.Errorf("JSON left %q in %s", leak, s)
		}
	}
	if v["password"] != Mask || v["pin"] != Mask || v["port"] != float64(80) {
		t.Errorf("JSON = %s", s)
	}
	if _, err := red.JSON([]byte(`{"a": "` + secret)); err == nil {
		t.Error("a document that does not parse was returned")
	}
}
