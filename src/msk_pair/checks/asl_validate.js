// Validates one Amazon States Language definition (read from stdin) with two validators that
// share no code with this project or each other, and prints their findings as JSON lines:
//   {"validator": "asl-validator", "code": "...", "detail": "..."}
//   {"validator": "statelint", "code": "statelint", "detail": "..."}
// Run by src/msk_pair/checks/asl.py with the project's node_modules (npm ci).
"use strict";

const fs = require("fs");
const aslValidator = require("asl-validator");
const { StateLint } = require("@wmfs/statelint");

const definition = JSON.parse(fs.readFileSync(0, "utf-8"));

// asl-validator: the JSON schema of the States Language, then transitions, terminal states,
// duplicate names, JSONPath/JSONata expressions and Task ARNs.
const { errors } = aslValidator(structuredClone(definition));
for (const error of errors || []) {
  const detail = [error["Error code"], error.Message].filter(Boolean).join(": ") || JSON.stringify(error);
  console.log(JSON.stringify({ validator: "asl-validator", code: error["Error code"] || "error", detail }));
}

// statelint: the j2119 rules of the States Language specification (https://states-language.net/spec.html).
for (const problem of new StateLint().validate(structuredClone(definition))) {
  console.log(JSON.stringify({ validator: "statelint", code: "statelint", detail: String(problem) }));
}
