package sysfs_test

import (
	"testing"

	"github.com/gosv/gosv/kernel/fsimpl/sysfs"
	"github.com/gosv/gosv/kernel/vfs"
	"golang.org/x/sys/unix"
)

func TestCPUs(t *testing.T) {
	n := 4
	f := vfs.NewFS(vfs.NewNamespace(sysfs.New(func() int { return n }), "sysfs", 0))
	read := func(path string) string {
		file, _, err := f.Open(vfs.RootContext, vfs.Loc{}, path, unix.O_RDONLY, 0)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		buf := make([]byte, 100)
		k, _ := file.Read(buf)
		return string(buf[:k])
	}
	if s := read("/devices/system/cpu/online"); s != "0-3\n" {
		t.Errorf("online %q", s)
	}
	if s := read("/devices/system/cpu/cpu3/online"); s != "1\n" {
		t.Errorf("cpu3/online %q", s)
	}
	n = 1
	if s := read("/devices/system/cpu/possible"); s != "0\n" {
		t.Errorf("possible with one CPU %q", s)
	}
	if _, err := f.Stat(vfs.RootContext, vfs.Loc{}, "/devices/system/cpu/cpu1", 0); err != unix.ENOENT {
		t.Errorf("cpu1 with one CPU: %v", err)
	}
	if err := f.Mkdir(vfs.RootContext, vfs.Loc{}, "/new", 0o755); err != unix.EPERM {
		t.Errorf("mkdir: %v", err)
	}
	if _, _, err := f.Open(vfs.RootContext, vfs.Loc{}, "/new", unix.O_CREAT|unix.O_WRONLY, 0); err != unix.EACCES {
		t.Errorf("create: %v", err)
	}
	if s := f.Statfs(f.Root()); s.Type != unix.SYSFS_MAGIC {
		t.Errorf("statfs type %#x", s.Type)
	}
}
