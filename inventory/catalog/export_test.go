package catalog

// TagOf is tagOf for the external tests.
var TagOf = tagOf
