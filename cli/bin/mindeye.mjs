#!/usr/bin/env node
// The installed `mindeye` command: runs the TypeScript sources through tsx's loader.
import { register } from "tsx/esm/api";

register();
await import("../main.ts");
