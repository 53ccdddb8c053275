package cmdline

import (
	"slices"
	"testing"
)

func TestQuote(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{nil, ""},
		{[]string{"/bin/ls"}, "/bin/ls"},
		{[]string{"/bin/ls", "-la"}, "/bin/ls -la"},
		{[]string{"--env=A=B", "--verbose", "/app", "x=1"}, "--env=A=B --verbose /app x=1"},
		{[]string{"a b"}, `"a b"`},
		{[]string{"a\tb"}, "\"a\tb\""},
		{[]string{"a\nb"}, "\"a\nb\""},
		{[]string{""}, `""`},
		{[]string{"x", "", "y"}, `x "" y`},
		{[]string{`say "hi"`}, `"say \"hi\""`},
		{[]string{`"`}, `"\""`},
		{[]string{`C:\dir`}, `"C:\\dir"`},
		{[]string{`\`}, `"\\"`},
		{[]string{"it's"}, `"it's"`},
		{[]string{"héllo", "ünïcode"}, "héllo ünïcode"},
		{[]string{"--env=MSG=hello world", "/bin/echo", `a "b" \c`},
			`"--env=MSG=hello world" /bin/echo "a \"b\" \\c"`},
	}
	for _, c := range cases {
		got := Quote(c.args)
		if got != c.want {
			t.Errorf("Quote(%q) = %q, want %q", c.args, got, c.want)
		}
		if back := splitCmdline(got); !slices.Equal(back, c.args) && !(len(back) == 0 && len(c.args) == 0) {
			t.Errorf("split(Quote(%q)) = %q", c.args, back)
		}
	}
}

// splitCmdline is the inverse documented on Quote (the kernel's
// splitter), kept here to check that quoting round-trips.
func splitCmdline(s string) []string {
	isSpace := func(c byte) bool {
		return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
	}
	var out []string
	i := 0
	for {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		if i == len(s) {
			return out
		}
		var w []byte
		if s[i] == '"' {
			i++
			for i < len(s) && s[i] != '"' {
				if s[i] == '\\' && i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\') {
					i++
				}
				w = append(w, s[i])
				i++
			}
			i++ // closing quote
		} else {
			for i < len(s) && !isSpace(s[i]) {
				w = append(w, s[i])
				i++
			}
		}
		out = append(out, string(w))
	}
}

func TestQuoteRoundTripAllBytes(t *testing.T) {
	var args []string
	for c := 1; c < 256; c++ {
		args = append(args, string([]byte{'a', byte(c), 'z'}), string([]byte{byte(c)}))
	}
	if back := splitCmdline(Quote(args)); !slices.Equal(back, args) {
		t.Fatalf("round trip of every byte failed")
	}
}
