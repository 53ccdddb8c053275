package ramfs

import (
	"testing"

	"golang.org/x/sys/unix"
)

func TestTmpfsOptions(t *testing.T) {
	for _, c := range []struct {
		data string
		want TmpfsOptions
		err  error
	}{
		{"", TmpfsOptions{Mode: 0o1777}, nil},
		{"size=64k", TmpfsOptions{Size: 64 << 10, Mode: 0o1777}, nil},
		{"size=1M,mode=755,uid=1,gid=2", TmpfsOptions{Size: 1 << 20, Mode: 0o755, UID: 1, GID: 2}, nil},
		{"size=50%", TmpfsOptions{Size: 512 << 20, Mode: 0o1777}, nil},
		{"size=100", TmpfsOptions{Size: pageSize, Mode: 0o1777}, nil}, // whole pages
		{"nr_blocks=2,inode64,nr_inodes=10", TmpfsOptions{Size: 2 * pageSize, Mode: 0o1777}, nil},
		{"size=", TmpfsOptions{}, unix.EINVAL},
		{"size=1x", TmpfsOptions{}, unix.EINVAL},
		{"size=101%", TmpfsOptions{}, unix.EINVAL},
		{"mode=999", TmpfsOptions{}, unix.EINVAL},
		{"uid=-1", TmpfsOptions{}, unix.EINVAL},
		{"bogus", TmpfsOptions{}, unix.EINVAL},
	} {
		got, err := ParseTmpfsOptions(c.data, 1<<30)
		if err != c.err || err == nil && got != c.want {
			t.Errorf("%q: %+v %v", c.data, got, err)
		}
	}
	fs, err := NewTmpfs(1<<30)("none", 0, "size=8k")
	if err != nil {
		t.Fatal(err)
	}
	if s := fs.Statfs(); s.Blocks != 2 || s.Type != unix.TMPFS_MAGIC || fs.Options() != "size=8k" {
		t.Errorf("statfs %+v options %q", s, fs.Options())
	}
	other, _ := NewTmpfs(1<<30)("none", 0, "")
	if fs.Root().Stat().Dev == other.Root().Stat().Dev || other.Options() != "" {
		t.Error("tmpfs instances share st_dev or show default options")
	}
}

// FuzzParseTmpfsOptions: mount(2)'s data string comes from the app.
func FuzzParseTmpfsOptions(f *testing.F) {
	f.Add("size=64k,mode=1777,uid=0")
	f.Add("size=50%,nr_inodes=1k")
	f.Fuzz(func(t *testing.T, data string) {
		o, err := ParseTmpfsOptions(data, 1<<30)
		if err != nil && err != unix.EINVAL {
			t.Fatalf("error %v", err)
		}
		if err == nil && (o.Size < 0 || o.Size%pageSize != 0 || o.Mode > 0o7777) {
			t.Fatalf("%q gave %+v", data, o)
		}
	})
}
