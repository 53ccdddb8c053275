// Package sysfs is gosv's /sys: the CPU topology that glibc's get_nprocs
// and sysconf(_SC_NPROCESSORS_*) read (sysfs-devices-system-cpu), built on
// kernfs.
package sysfs

import (
	"fmt"
	"strconv"

	"github.com/gosv/gosv/kernel/fsimpl/kernfs"
	"github.com/gosv/gosv/kernel/vfs"
	"golang.org/x/sys/unix"
)

// Dev is st_dev of the files of /sys.
var Dev = vfs.Mkdev(0, 23)

// Errors are sysfs's answers to creations: it has no create operation.
var Errors = kernfs.Errors{Create: unix.EPERM, CreateOpen: unix.EACCES}

// New creates the filesystem; numCPU returns the number of CPUs to show.
func New(numCPU func() int) *kernfs.FS {
	cpus := func() string {
		if n := numCPU(); n > 1 {
			return fmt.Sprintf("0-%d\n", n-1)
		}
		return "0\n"
	}
	cpuList := func(name string) *kernfs.Node {
		return kernfs.Reg(name, 0o444, func(vfs.Context) []byte { return []byte(cpus()) })
	}
	cpu := kernfs.Dir("cpu", 0o755, func(vfs.Context) []*kernfs.Node {
		out := []*kernfs.Node{cpuList("online"), cpuList("possible"), cpuList("present")}
		for i := 0; i < max(numCPU(), 1); i++ {
			out = append(out, kernfs.Dir("cpu"+strconv.Itoa(i), 0o755, func(vfs.Context) []*kernfs.Node {
				return []*kernfs.Node{kernfs.Text("online", "1\n")}
			}))
		}
		return out
	})
	system := kernfs.Dir("system", 0o755, func(vfs.Context) []*kernfs.Node { return []*kernfs.Node{cpu} })
	devices := kernfs.Dir("devices", 0o755, func(vfs.Context) []*kernfs.Node { return []*kernfs.Node{system} })
	empty := func(name string) *kernfs.Node {
		return kernfs.Dir(name, 0o755, func(vfs.Context) []*kernfs.Node { return nil })
	}
	root := kernfs.Dir("", 0o555, func(vfs.Context) []*kernfs.Node {
		return []*kernfs.Node{empty("block"), empty("bus"), empty("class"), devices, empty("fs"), empty("kernel")}
	})
	return kernfs.New("sysfs", unix.SYSFS_MAGIC, Dev, Errors, root)
}
