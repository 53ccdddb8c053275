package elfexec

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

type binSpec struct {
	name string
	tool string // program that must exist, e.g. "gcc"
	args []string
	env  []string
}

var binSpecs = []binSpec{
	{name: "gcc-static", tool: "gcc", args: []string{"-O1", "-static"}},
	{name: "gcc-static-pie", tool: "gcc", args: []string{"-O1", "-static-pie"}},
	{name: "gcc-dynamic", tool: "gcc", args: []string{"-O1"}},
	{name: "gcc-dynamic-nopie", tool: "gcc", args: []string{"-O1", "-no-pie"}},
	{name: "gcc-execstack", tool: "gcc", args: []string{"-O1", "-static", "-z", "execstack"}},
	{name: "gcc-shared", tool: "gcc", args: []string{"-O1", "-shared", "-fPIC"}},
	{name: "musl-static", tool: "musl-gcc", args: []string{"-O1", "-static"}},
	{name: "musl-dynamic", tool: "musl-gcc", args: []string{"-O1"}},
	{name: "go-static", tool: "go"},
}

var (
	buildOnce sync.Once
	buildDir  string
	builtBins map[string]string // name -> path
	buildErrs map[string]error
)

func buildAll() {
	var err error
	buildDir, err = os.MkdirTemp("", "elfexec-test-")
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
				args := append(append([]string{}, s.args...), "-o", out, csrc)
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
