package bootopts

import (
	"reflect"
	"testing"
)

func TestSplit(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"  a  b\tc ", []string{"a", "b", "c"}},
		{`--env=A=B /bin/echo "a b" "say \"hi\"" ""`, []string{"--env=A=B", "/bin/echo", "a b", `say "hi"`, ""}},
		{`"back\\slash" "keep\n"`, []string{`back\slash`, `keep\n`}},
	} {
		got, err := Split(tc.in)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Split(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	if _, err := Split(`"open`); err == nil {
		t.Error("Split of an unterminated quote succeeded")
	}
}

func TestParse(t *testing.T) {
	o, app, err := Parse([]string{"--verbose", "--env=A=1", "--env=B=2", "--cwd=/tmp", "--exit=7", "/bin/ls", "--verbose"})
	if err != nil {
		t.Fatal(err)
	}
	if !o.Verbose || o.Cwd != "/tmp" || !reflect.DeepEqual(o.Env, []string{"A=1", "B=2"}) || o.Exit != 7 || !o.ExitSet {
		t.Errorf("options = %+v", o)
	}
	if !reflect.DeepEqual(app, []string{"/bin/ls", "--verbose"}) {
		t.Errorf("app = %q", app)
	}
	_, app, err = Parse([]string{"--bootchart", "--", "--not-an-option"})
	if err != nil || !reflect.DeepEqual(app, []string{"--not-an-option"}) {
		t.Errorf("app after -- = %q, %v", app, err)
	}
	for _, bad := range [][]string{{"--nope"}, {"--env=X"}, {"--cwd"}, {"--exit=256"}, {"--exit=x"}, {"--fault=zz"}} {
		if _, _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) succeeded", bad)
		}
	}
}
