package version

import "testing"

// Each case is an example the package manager's own documentation or
// test suite gives; want is the sign of Compare(a, b).
type orderCase struct {
	a, b string
	want int
}

func check(t *testing.T, s Scheme, cases []orderCase) {
	t.Helper()
	for _, c := range cases {
		if got := Compare(s, c.a, c.b); got != c.want {
			t.Errorf("%s: compare(%q, %q) = %d, want %d", s, c.a, c.b, got, c.want)
		}
		if got := Compare(s, c.b, c.a); got != -c.want {
			t.Errorf("%s: compare(%q, %q) = %d, want %d (antisymmetry)", s, c.b, c.a, got, -c.want)
		}
	}
}

// chain asserts a strictly increasing list, every pair of it.
func chain(t *testing.T, s Scheme, vs []string) {
	t.Helper()
	var cases []orderCase
	for i := range vs {
		for j := i + 1; j < len(vs); j++ {
			cases = append(cases, orderCase{vs[i], vs[j], -1})
		}
		cases = append(cases, orderCase{vs[i], vs[i], 0})
	}
	check(t, s, cases)
}

func TestDpkg(t *testing.T) {
	// Debian Policy 5.6.12: "~~" < "~~a" < "~" < "" < "a".
	chain(t, Dpkg, []string{"1.0~~", "1.0~~a", "1.0~", "1.0", "1.0a"})
	// deb-version(7) and Policy: epochs first, a tilde pre-release below
	// its release, digits by value, the revision last.
	check(t, Dpkg, []orderCase{
		{"1:0.1", "2.0", 1},
		{"0:1.0", "1.0", 0},
		{"1.0", "1.0-0", 0},
		{"1.0~rc1", "1.0", -1},
		{"1.0~beta1~svn1245", "1.0~beta1", -1},
		{"1.2.3", "1.2.10", -1},
		{"1.0-1", "1.0-1+b1", -1},
		{"1.0-1", "1.0-2", -1},
		{"1.0-9", "1.0-10", -1},
		{"1.0+dfsg", "1.0", 1},
		{"1.0.1", "1.0+dfsg", 1},
		{"2.7.4+reloaded2-13", "2.7.4+reloaded2-13+deb9u1", -1},
		{"1.0-1ubuntu1", "1.0-1", 1},
		{"3.0.11-1~deb12u2", "3.0.11-1", -1},
		{"2:1.0", "1:9.9", 1},
		{"10:1", "9:1", 1},
		{"000001.2", "1.02", 0},
		{"1.18.0", "1.18.0-a", -1},
	})
}

func TestAPK(t *testing.T) {
	// apk-tools test/version.data (a selection covering every token kind).
	check(t, APK, []orderCase{
		{"2.34", "0.1.0_alpha", 1},
		{"23_foo", "4_beta", 1},
		{"1.0", "1.0bc", -1},
		{"0.1.0_alpha", "0.1.0_alpha", 0},
		{"0.1.0_alpha2", "0.1.0_alpha", 1},
		{"1.0.4-r3", "1.0.4-r4", -1},
		{"1.1", "1.1_alpha1", 1},
		{"1.2.1", "1.2", 1},
		{"1.3_alpha2", "1.3_alpha3", -1},
		{"0.8_beta4", "4.8-r1", -1},
		{"2.3.0b-r1", "2.3.0b-r2", -1},
		{"0.12.3", "0.12", 1},
		{"0.12", "0.13_beta1", -1},
		{"1.2.11", "1.2.12.1", -1},
		{"3.1_p16", "3.1_p17", -1},
		{"1.06-r6", "006", -1},
		{"1.2.2-r1", "1.2.2", 1},
		{"20050718-r2", "3.9.8-r5", 1},
		{"2.01.01_alpha10", "0.94", 1},
		{"1.0", "0.99.3.20040818", 1},
		{"4.2.52_p2-r1", "4.2.52_p4-r2", -1},
		{"1.07-r1", "1.07.5", -1},
		{"1.07.5", "1.07", 1},
		{"20061003", "0.1_pre20060810", 1},
		{"0.1_pre20060810", "0.1_pre20060817", -1},
		{"0.59s-r11", "0.65", -1},
		{"0.20070118", "0.20070207_rc1", -1},
		{"0.20070207_rc1", "1.0", -1},
		{"4.5_p1-r1", "4.5_p1", 1},
		{"0.9.8c-r1", "0.9.8d", -1},
		{"2.9.11_pre20051101-r3", "2.9.11_pre20051101", 1},
		{"1.6.8_p12-r1", "1.6.8_p9-r2", 1},
		{"0.9.28.1", "087-r1", -1},
		{"104-r11", "104-r9", 1},
		{"1.2.5_rc2", "0.1", 1},
		{"2.12r-r4", "2.12r-r5", -1},
		{"7.0.17", "7.0.174", -1},
		{"1.3-r0", "1.3.1-r0", -1},
		{"1.3_pre1-r1", "1.3.2", -1},
		{"1.0_p10-r0", "1.0_p9-r0", 1},
		{"0.1.0_alpha_pre2", "0.1.0_alpha", -1},
		{"1.0.0_pre20191002222144-r0", "1.0.0_pre20210530193627-r0", -1},
		{"1.02", "1.1", -1}, // a leading zero after a dot ranks below any plain number
	})
}

func TestRPM(t *testing.T) {
	// rpm's tests/rpmvercmp.at.
	check(t, RPM, []orderCase{
		{"1.0", "1.0", 0},
		{"1.0", "2.0", -1},
		{"2.0.1", "2.0.1", 0},
		{"2.0", "2.0.1", -1},
		{"2.0.1a", "2.0.1a", 0},
		{"2.0.1a", "2.0.1", 1},
		{"5.5p1", "5.5p1", 0},
		{"5.5p1", "5.5p2", -1},
		{"5.5p10", "5.5p10", 0},
		{"5.5p1", "5.5p10", -1},
		{"10xyz", "10.1xyz", -1},
		{"xyz10", "xyz10.1", -1},
		{"xyz.4", "8", -1},
		{"xyz.4", "2", -1},
		{"5.5p2", "5.6p1", -1},
		{"5.6p1", "6.5p1", -1},
		{"6.0.rc1", "6.0", 1},
		{"10b2", "10a1", 1},
		{"1.0aa", "1.0a", 1},
		{"10.0001", "10.1", 0},
		{"10.0001", "10.0039", -1},
		{"4.999.9", "5.0", -1},
		{"20101121", "20101122", -1},
		{"2_0", "2_0", 0},
		{"2.0", "2_0", 0},
		{"a", "a", 0},
		{"a+", "a+", 0},
		{"a+", "a_", 0},
		{"+a", "_a", 0},
		{"+_", "_+", 0},
		{"1.0~rc1", "1.0~rc1", 0},
		{"1.0~rc1", "1.0", -1},
		{"1.0~rc1", "1.0~rc2", -1},
		{"1.0~rc1~git123", "1.0~rc1", -1},
		{"1.0^", "1.0^", 0},
		{"1.0^", "1.0", 1},
		{"1.0^git1", "1.0", 1},
		{"1.0^git1", "1.0^git2", -1},
		{"1.0^git1", "1.01", -1},
		{"1.0^20160101", "1.0.1", -1},
		{"1.0^20160101^git1", "1.0^20160101", 1},
		{"1.0~rc1^git1", "1.0~rc1", 1},
		{"1.0^git1~pre", "1.0^git1", -1},
		// Whole EVRs: epoch first, then version, then release.
		{"1:1.0-1", "2.0-1", 1},
		{"0:1.0-1", "1.0-1", 0},
		{"1.0-1.el9", "1.0-2.el9", -1},
		{"1.0-10", "1.0-9", 1},
	})
}

func TestPEP440(t *testing.T) {
	// PEP 440, "Summary of permitted suffixes and relative ordering".
	chain(t, PEP440, []string{
		"1.dev0", "1.0.dev456", "1.0a1", "1.0a2.dev456", "1.0a12.dev456", "1.0a12",
		"1.0b1.dev456", "1.0b2", "1.0b2.post345.dev456", "1.0b2.post345",
		"1.0rc1.dev456", "1.0rc1", "1.0", "1.0+abc.5", "1.0+abc.7", "1.0+5",
		"1.0.post456.dev34", "1.0.post456", "1.0.15", "1.1.dev1",
	})
	check(t, PEP440, []orderCase{
		{"1.0", "1.0.0", 0},         // release segments padded with zeros
		{"1!1.0", "2.0", 1},         // epochs
		{"1.0-alpha.1", "1.0a1", 0}, // normalisation
		{"1.0c1", "1.0rc1", 0},
		{"1.0-1", "1.0.post1", 0},
		{"v1.0", "1.0", 0},
		{"2.28.1", "2.31.0", -1},
		{"not a version", "0.1", -1},
	})
}

func TestSemver(t *testing.T) {
	// semver.org, 11.4: 1.0.0-alpha < 1.0.0-alpha.1 < 1.0.0-alpha.beta <
	// 1.0.0-beta < 1.0.0-beta.2 < 1.0.0-beta.11 < 1.0.0-rc.1 < 1.0.0, and
	// 11.2: 1.0.0 < 2.0.0 < 2.1.0 < 2.1.1.
	chain(t, Semver, []string{"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta",
		"1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "2.0.0", "2.1.0", "2.1.1"})
	check(t, Semver, []orderCase{
		{"1.0.0+build.1", "1.0.0+build.2", 0}, // 10: build metadata ignored
		{"v1.2.3", "1.2.3", 0},                // Go module versions
		{"v0.0.0-20210911072402-73bd0ce46c49", "v0.1.0", -1},
		{"v0.0.0-20201215100354-a9e3110d8ee1", "v0.0.0-20210911072402-73bd0ce46c49", -1},
		{"4.17.21", "4.17.3", 1},
		{"10.0.0", "9.99.99", 1},
		{"(devel)", "v0.0.1", -1},
	})
}
