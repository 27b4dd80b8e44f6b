package ui

// The device page (the device code flow's verification URI): the user enters
// the code their device shows, confirms the app, signs in through the usual
// pages, and is told they may close the window.

// Device page names.
const (
	PageDeviceCode    = "devicecode"
	PageDeviceConfirm = "deviceconfirm"
	PageDeviceDone    = "devicedone"
)

var devicePages = []string{PageDeviceCode, PageDeviceConfirm, PageDeviceDone}

// DeviceCode asks for the code the device shows.
type DeviceCode struct {
	Form
	// Code is what the user typed, shown again with an error.
	Code string
}

// DeviceConfirm asks whether the user is signing in to Form.AppName.
type DeviceConfirm struct {
	Form
}

// DeviceDone ends the flow: signed in (Approved) or declined.
type DeviceDone struct {
	Title    string
	AppName  string
	Approved bool
}
