package qemu

import "strings"

// QuoteCmdline joins args into one kernel command line that the gosv kernel
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
// A NUL byte cannot travel on the kernel command line; Config.Validate
// rejects a Cmdline containing one.
func QuoteCmdline(args []string) string {
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
