package linux

import (
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// The README's syscall section, between the <!-- syscalls --> markers, is
// generated from the syscall table: the supported syscalls, then each
// partial and unsupported one with its note. Regenerate with
// GOSV_UPDATE_README=1 go test ./kernel/linux -run TestREADMESyscalls.
func TestREADMESyscalls(t *testing.T) {
	const path = "../../README.md"
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	const begin, end = "<!-- syscalls -->\n", "<!-- /syscalls -->"
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		t.Fatal("README.md lacks the <!-- syscalls --> section")
	}
	want := syscallSection()
	got := s[i+len(begin) : j]
	if got == want {
		return
	}
	if os.Getenv("GOSV_UPDATE_README") != "" {
		os.WriteFile(path, []byte(s[:i+len(begin)]+want+s[j:]), 0o644)
		return
	}
	t.Errorf("README.md syscall list is out of date; run GOSV_UPDATE_README=1 go test ./kernel/linux -run TestREADMESyscalls")
}

// syscallSection renders the table as Markdown.
func syscallSection() string {
	byLevel := map[Support][]TableEntry{}
	for _, e := range Table() {
		byLevel[e.Support] = append(byLevel[e.Support], e)
	}
	for _, l := range byLevel {
		sort.Slice(l, func(a, b int) bool { return l[a].Name < l[b].Name })
	}
	var b strings.Builder
	sup := byLevel[Supported]
	b.WriteString("Supported (" + strconv.Itoa(len(sup)) + "):\n")
	line := ""
	for i, e := range sup {
		w := "`" + e.Name + "`"
		if i < len(sup)-1 {
			w += ","
		} else {
			w += "."
		}
		if line != "" && len(line)+1+len(w) > 76 {
			b.WriteString(line + "\n")
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	b.WriteString(line + "\n")
	for _, l := range []struct {
		level Support
		title string
	}{{Partial, "Partial"}, {Unsupported, "Known but not implemented (ENOSYS, logged once)"}} {
		es := byLevel[l.level]
		b.WriteString("\n" + l.title + " (" + strconv.Itoa(len(es)) + "):\n\n")
		for _, e := range es {
			b.WriteString("- `" + e.Name + "`: " + e.Note + "\n")
		}
	}
	return b.String()
}
