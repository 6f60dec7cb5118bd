#!/usr/bin/env node
// Placeholder entry point; replaced by the real CLI (run / sandbox).
console.log('hubspot-operator: usage: hubspot-operator <run|sandbox> [flags]');
