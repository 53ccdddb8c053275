package libs

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

const hostInterp = "/lib64/ld-linux-x86-64.so.2"

// needTool skips the test when a host program is missing.
func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s not installed", name)
	}
	return p
}

// gcc runs gcc with args in dir, failing the test on error.
func gcc(t *testing.T, dir string, args ...string) {
	t.Helper()
	needTool(t, "gcc")
	cmd := exec.Command("gcc", args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gcc %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mkdirs(t *testing.T, dirs ...string) {
	t.Helper()
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

// tempDir returns a test directory with symlinks resolved, so that ld.so's
// $ORIGIN (from /proc/self/exe) and the paths built here agree.
func tempDir(t *testing.T) string {
	t.Helper()
	d, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// lddResult is what `ldd` prints for a program: name -> path for every
// loaded object (the path alone when ldd prints no "=>"), and the names it
// could not find.
type lddResult struct {
	found    map[string]string
	notFound []string
}

var (
	lddArrow = regexp.MustCompile(`^\s*(\S+) => (.*?)(?: \(0x[0-9a-f]+\))?$`)
	lddPlain = regexp.MustCompile(`^\s*(\S+) \(0x[0-9a-f]+\)$`)
)

// runLdd runs ldd on prog with extra environment variables.
func runLdd(t *testing.T, prog string, env ...string) (*lddResult, string) {
	t.Helper()
	needTool(t, "ldd")
	cmd := exec.Command("ldd", prog)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	_ = cmd.Run() // ldd exits 1 when something is not found
	res := &lddResult{found: map[string]string{}}
	sc := bufio.NewScanner(&stdout)
	for sc.Scan() {
		line := sc.Text()
		if m := lddArrow.FindStringSubmatch(line); m != nil {
			if m[2] == "not found" {
				res.notFound = append(res.notFound, m[1])
				continue
			}
			res.found[m[1]] = m[2]
			continue
		}
		if m := lddPlain.FindStringSubmatch(line); m != nil {
			if strings.HasPrefix(m[1], "linux-vdso") || strings.HasPrefix(m[1], "linux-gate") {
				continue
			}
			res.found[m[1]] = m[1]
			continue
		}
		if strings.TrimSpace(line) != "" {
			t.Logf("ldd %s: unparsed line %q", prog, line)
		}
	}
	return res, stdout.String() + stderr.String()
}

// closureMap gives Resolve's result in ldd's terms.
func closureMap(c *Closure) map[string]string {
	m := map[string]string{}
	for _, o := range c.Objects {
		m[o.Name] = o.Path
	}
	return m
}

func formatMap(m map[string]string) string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString("\t" + k + " => " + m[k] + "\n")
	}
	return b.String()
}

// compareWithLdd resolves prog and checks the result against ldd's.
func compareWithLdd(t *testing.T, prog string, opt Options, env ...string) *Closure {
	t.Helper()
	want, raw := runLdd(t, prog, env...)
	if len(want.notFound) > 0 {
		t.Fatalf("ldd %s reports missing libraries %v:\n%s", prog, want.notFound, raw)
	}
	c, err := Resolve(prog, opt)
	if err != nil {
		t.Fatalf("Resolve(%s): %v\nldd:\n%s", prog, err, raw)
	}
	got := closureMap(c)
	if formatMap(got) != formatMap(want.found) {
		t.Errorf("Resolve(%s) differs from ldd\ngot:\n%swant:\n%sldd output:\n%s", prog, formatMap(got), formatMap(want.found), raw)
	}
	return c
}

// hostLoader describes the host's ld.so from `ld.so --help`.
type hostLoader struct {
	systemDirs []string
	hwcaps     []string // supported glibc-hwcaps subdirectories, in priority order
	platform   string   // the legacy AT_PLATFORM subdirectory, if listed
}

func loaderHelp(t *testing.T) *hostLoader {
	t.Helper()
	if _, err := os.Stat(hostInterp); err != nil {
		t.Skipf("no %s", hostInterp)
	}
	out, err := exec.Command(hostInterp, "--help").Output()
	if err != nil {
		t.Skipf("%s --help: %v", hostInterp, err)
	}
	h := &hostLoader{}
	section := ""
	for _, line := range strings.Split(string(out), "\n") {
		switch {
		case strings.HasPrefix(line, "Shared library search path"):
			section = "dirs"
		case strings.HasPrefix(line, "Subdirectories of glibc-hwcaps"):
			section = "hwcaps"
		case strings.HasPrefix(line, "Legacy HWCAP"):
			section = "legacy"
		case !strings.HasPrefix(line, "  "):
			section = ""
		default:
			f := strings.Fields(line)
			if len(f) == 0 {
				continue
			}
			switch section {
			case "dirs":
				if strings.Contains(line, "(system search path)") {
					h.systemDirs = append(h.systemDirs, f[0])
				}
			case "hwcaps":
				if strings.Contains(line, "supported, searched") {
					h.hwcaps = append(h.hwcaps, f[0])
				}
			case "legacy":
				if strings.Contains(line, "AT_PLATFORM") {
					h.platform = f[0]
				}
			}
		}
	}
	return h
}
