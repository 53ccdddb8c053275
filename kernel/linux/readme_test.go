package linux

import (
	"os"
	"sort"
	"strings"
	"testing"
)

// The README lists the implemented syscalls between <!-- syscalls -->
// markers; it must match the table. Regenerate with
// GOSV_UPDATE_README=1 go test ./kernel/linux -run TestREADMESyscalls.
func TestREADMESyscalls(t *testing.T) {
	const path = "../../README.md"
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i, j := strings.Index(s, "<!-- syscalls -->\n"), strings.Index(s, "<!-- /syscalls -->")
	if i < 0 || j < i {
		t.Fatal("README.md lacks the <!-- syscalls --> section")
	}
	names := Implemented()
	sort.Strings(names)
	var lines []string
	line := ""
	for _, n := range names {
		w := "`" + n + "`"
		if len(line)+len(w)+2 > 76 {
			lines = append(lines, line+",")
			line = ""
		}
		if line != "" {
			line += ", "
		}
		line += w
	}
	lines = append(lines, line+".")
	want := strings.Join(lines, "\n") + "\n"
	got := s[i+len("<!-- syscalls -->\n") : j]
	if got == want {
		return
	}
	if os.Getenv("GOSV_UPDATE_README") != "" {
		os.WriteFile(path, []byte(s[:i+len("<!-- syscalls -->\n")]+want+s[j:]), 0o644)
		return
	}
	t.Errorf("README.md syscall list is out of date (%d implemented); run GOSV_UPDATE_README=1 go test ./kernel/linux -run TestREADMESyscalls", len(names))
}
