#!/usr/bin/env node
// The demo's stand-in for a GPU trial: "trains" for about a second on the GPU it was given,
// writes a result file the way the user's trials do, and prints a JSON summary last.
const { mkdirSync, writeFileSync } = require('node:fs');
const { dirname } = require('node:path');

const arg = (name, fallback) => {
  const at = process.argv.indexOf(name);
  return at >= 0 ? process.argv[at + 1] : fallback;
};
const trial = Number(arg('--trial', '0'));
const output = arg('--output', `results/trial_${String(trial).padStart(4, '0')}.json`);
const seconds = 0.6 + ((trial * 7919) % 10) / 10;

setTimeout(() => {
  const params = { learning_rate: 10 ** -(1 + (trial % 4)), sample_size: 350 + 100 * (trial % 5) };
  const result = {
    trial_id: trial,
    params,
    accuracy: 0.5 + ((trial * 104729) % 500) / 1000,
    status: 'success',
    error: null,
    hostname: 'localhost',
    gpu: process.env.CUDA_VISIBLE_DEVICES ?? null,
    timestamp: new Date().toISOString(),
  };
  mkdirSync(dirname(output), { recursive: true });
  writeFileSync(output, JSON.stringify(result));
  console.log(JSON.stringify({ trial_id: trial, accuracy: result.accuracy, status: result.status }));
}, seconds * 1000);
