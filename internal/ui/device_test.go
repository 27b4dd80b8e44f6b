package ui

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestRenderDevicePages(t *testing.T) {
	form := Form{Title: "T", AppName: "App <b>", Action: "/devicelogin", Flow: "F", CSRF: "C", Error: "Oops"}
	for _, tc := range []struct {
		name string
		data any
		want []string
	}{
		{PageDeviceCode, DeviceCode{Form: form, Code: `"><script>`},
			[]string{"Enter code", `name="otc"`, `<label for="otc">`, `value="code"`, `name="csrf" value="C"`, "Oops"}},
		{PageDeviceConfirm, DeviceConfirm{Form: form},
			[]string{"Are you trying to sign in to App &lt;b&gt;?", `value="continue"`, `value="cancel"`, `name="flow" value="F"`, `name="csrf" value="C"`}},
		{PageDeviceDone, DeviceDone{Title: "T", AppName: "App <b>", Approved: true},
			[]string{`id="device-signed-in"`, "You have signed in to the App &lt;b&gt; application on your device. You may now close this window."}},
		{PageDeviceDone, DeviceDone{Title: "T", AppName: "App <b>"},
			[]string{`id="device-declined"`, "You have declined to sign in"}},
	} {
		rec := httptest.NewRecorder()
		if err := Render(rec, http.StatusOK, tc.name, tc.data, CSP{}); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		body := rec.Body.String()
		if strings.Contains(body, "App <b>") || strings.Contains(body, `"><script>`) {
			t.Errorf("%s: unescaped input:\n%s", tc.name, body)
		}
		for _, w := range tc.want {
			if !strings.Contains(body, w) {
				t.Errorf("%s: no %q in\n%s", tc.name, w, body)
			}
		}
	}
}
