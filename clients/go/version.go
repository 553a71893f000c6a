package threadlock

// Version of this SDK (reported by the conformance adapter and usable in logs).
const Version = "0.1.0"
