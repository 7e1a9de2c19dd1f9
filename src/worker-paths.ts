/** Where the workflow sources and their pre-built bundle live, relative to the compiled code. */
import { join } from 'node:path';

export const WORKFLOWS_PATH = require.resolve('./workflows');
export const WORKFLOW_BUNDLE_PATH = join(__dirname, '..', 'workflow-bundle.js');
