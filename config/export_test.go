package config

// For the external tests (package config_test), which run with real kinds.
var SetTestEnv = setTestEnv
