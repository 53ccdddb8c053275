package elf

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// Test binaries are built once per test process from the sources below with
// the host's compilers; a missing compiler skips the tests that need it.

const cSource = `#include <stdio.h>
#include <string.h>
__thread int tls_counter = 3;
static char bss_area[3 * 4096 + 123];
int data_word = 42;
int main(int argc, char **argv) {
	bss_area[argc] = 1;
	printf("hello %d %d %d\n", argc, data_word, tls_counter + bss_area[argc]);
	return 0;
}
`

const goSource = `package main

import "fmt"

var bss [10000]byte

func main() { bss[1] = 1; fmt.Println("hello from go", bss[1]) }
`

// auxdumpSource prints what the kernel put on its initial stack: argc,
// argv and envp strings with their offsets from argv[0], the auxiliary
// vector in order, the strings AT_EXECFN and AT_PLATFORM point to, the
// alignment of the stack pointer at entry and the distance from argv[0] to
// the end of the [stack] mapping.
const auxdumpSource = `#include <elf.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
int main(int argc, char **argv, char **envp) {
	char *base = argv[0];
	char **e = envp;
	printf("argc %d\n", argc);
	printf("spmod16 %lu\n", ((unsigned long)argv - 8) % 16);
	for (int i = 0; i < argc; i++) printf("argv %ld %s\n", (long)(argv[i] - base), argv[i]);
	for (; *e; e++) printf("envp %ld %s\n", (long)(*e - base), *e);
	for (Elf64_auxv_t *a = (Elf64_auxv_t *)(e + 1); a->a_type != AT_NULL; a++) {
		printf("auxv %lu %lu\n", (unsigned long)a->a_type, (unsigned long)a->a_un.a_val);
		if (a->a_type == AT_EXECFN) printf("execfn %ld %s\n", (long)((char *)a->a_un.a_val - base), (char *)a->a_un.a_val);
		if (a->a_type == AT_PLATFORM) printf("platform %s\n", (char *)a->a_un.a_val);
	}
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	while (f && fgets(line, sizeof line, f)) {
		if (strstr(line, "[stack]")) {
			unsigned long lo, hi;
			if (sscanf(line, "%lx-%lx", &lo, &hi) == 2) printf("topoff %ld\n", (long)(hi - (unsigned long)base));
		}
	}
	return 0;
}
`

type binSpec struct {
	name string
	tool string // program that must exist, e.g. "gcc"
	args []string
	src  string // "" for prog.c
}

var binSpecs = []binSpec{
	{name: "gcc-static", tool: "gcc", args: []string{"-O1", "-static"}},
	{name: "gcc-static-pie", tool: "gcc", args: []string{"-O1", "-static-pie"}},
	{name: "gcc-dynamic", tool: "gcc", args: []string{"-O1"}},
	{name: "gcc-dynamic-nopie", tool: "gcc", args: []string{"-O1", "-no-pie"}},
	{name: "gcc-shared", tool: "gcc", args: []string{"-O1", "-shared", "-fPIC"}},
	{name: "musl-static", tool: "musl-gcc", args: []string{"-O1", "-static"}},
	{name: "musl-dynamic", tool: "musl-gcc", args: []string{"-O1"}},
	{name: "go-static", tool: "go"},
	{name: "auxdump-gcc", tool: "gcc", args: []string{"-O1", "-static"}, src: "auxdump.c"},
	{name: "auxdump-musl", tool: "musl-gcc", args: []string{"-O1", "-static"}, src: "auxdump.c"},
}

var (
	buildOnce sync.Once
	buildDir  string
	builtBins map[string]string // name -> path
	buildErrs map[string]error
)

func buildAll() {
	var err error
	buildDir, err = os.MkdirTemp("", "loader-test-")
	builtBins, buildErrs = map[string]string{}, map[string]error{}
	if err != nil {
		for _, s := range binSpecs {
			buildErrs[s.name] = err
		}
		return
	}
	csrc := filepath.Join(buildDir, "prog.c")
	godir := filepath.Join(buildDir, "goprog")
	os.WriteFile(csrc, []byte(cSource), 0o644)
	os.WriteFile(filepath.Join(buildDir, "auxdump.c"), []byte(auxdumpSource), 0o644)
	os.Mkdir(godir, 0o755)
	os.WriteFile(filepath.Join(godir, "go.mod"), []byte("module goprog\n\ngo 1.21\n"), 0o644)
	os.WriteFile(filepath.Join(godir, "main.go"), []byte(goSource), 0o644)
	var wg sync.WaitGroup
	var mu sync.Mutex
	for _, s := range binSpecs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out := filepath.Join(buildDir, s.name)
			var cmd *exec.Cmd
			if s.tool == "go" {
				gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
				if _, err := os.Stat(gobin); err != nil {
					gobin = "go"
				}
				cmd = exec.Command(gobin, "build", "-o", out, ".")
				cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64",
					"GOFLAGS=-buildvcs=false", "GOTOOLCHAIN=local", "GOWORK=off")
				cmd.Dir = godir
			} else {
				if _, err := exec.LookPath(s.tool); err != nil {
					mu.Lock()
					buildErrs[s.name] = fmt.Errorf("skip: %s not installed", s.tool)
					mu.Unlock()
					return
				}
				src := csrc
				if s.src != "" {
					src = filepath.Join(buildDir, s.src)
				}
				args := append(append([]string{}, s.args...), "-o", out, src)
				cmd = exec.Command(s.tool, args...)
			}
			b, err := cmd.CombinedOutput()
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				buildErrs[s.name] = fmt.Errorf("building %s: %v\n%s", s.name, err, b)
				return
			}
			builtBins[s.name] = out
		}()
	}
	wg.Wait()
}

// testBinary returns the path of the named test binary, skipping the test
// when its compiler is not installed and failing it when the build failed.
func testBinary(t testing.TB, name string) string {
	t.Helper()
	buildOnce.Do(buildAll)
	if p, ok := builtBins[name]; ok {
		return p
	}
	err := buildErrs[name]
	if err == nil {
		t.Fatalf("unknown test binary %q", name)
	}
	if strings.HasPrefix(err.Error(), "skip:") {
		t.Skip(err)
	}
	t.Fatal(err)
	return ""
}

func readBinary(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(testBinary(t, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}
