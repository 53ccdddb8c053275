// Package cmdline is the quoting of the gosv kernel command line, shared by
// the host tool (which writes it) and the kernel (which reads it). Standard
// library only.
package cmdline

import (
	"fmt"
	"strings"
)

// Quote joins args into one kernel command line that the gosv kernel
// splits back into exactly args.
//
// The format: words are separated by single spaces. A word that is empty or
// contains a space, tab, newline, carriage return, vertical tab, form feed,
// single or double quote, or backslash is written in double quotes, with
// each `"` inside written as `\"` and each `\` as `\\`; any other word is
// written as it is.
//
// The inverse (the kernel's splitter): skip whitespace (space, \t, \n, \v,
// \f, \r); a word that starts with `"` runs to the next unescaped `"`, and
// inside it `\"` stands for `"`, `\\` for `\`, and every other byte for
// itself; any other word runs to the next whitespace. For example
// ["--env=A=B", "/bin/echo", "a b", `say "hi"`, ""] becomes
// `--env=A=B /bin/echo "a b" "say \"hi\"" ""`.
//
// A NUL byte cannot travel on the kernel command line (the host's
// qemu.Config.Validate rejects one).
func Quote(args []string) string {
	var b strings.Builder
	for i, a := range args {
		if i > 0 {
			b.WriteByte(' ')
		}
		if a != "" && !strings.ContainsAny(a, " \t\n\v\f\r'\"\\") {
			b.WriteString(a)
			continue
		}
		b.WriteByte('"')
		for j := 0; j < len(a); j++ {
			if a[j] == '"' || a[j] == '\\' {
				b.WriteByte('\\')
			}
			b.WriteByte(a[j])
		}
		b.WriteByte('"')
	}
	return b.String()
}

// Split splits a kernel command line into words, the inverse of Quote: whitespace separates words; a word starting with `"`
// runs to the next unescaped `"`, with `\"` for `"` and `\\` for `\`.
// An unterminated quote is an error.
func Split(s string) ([]string, error) {
	var words []string
	i := 0
	for {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		if i == len(s) {
			return words, nil
		}
		if s[i] != '"' {
			j := i
			for j < len(s) && !isSpace(s[j]) {
				j++
			}
			words = append(words, s[i:j])
			i = j
			continue
		}
		var b strings.Builder
		i++
		for {
			if i == len(s) {
				return nil, fmt.Errorf("command line: unterminated quote")
			}
			c := s[i]
			if c == '"' {
				i++
				break
			}
			if c == '\\' && i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\') {
				c = s[i+1]
				i++
			}
			b.WriteByte(c)
			i++
		}
		words = append(words, b.String())
	}
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}
