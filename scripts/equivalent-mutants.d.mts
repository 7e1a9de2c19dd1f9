/** Types of scripts/equivalent-mutants.mjs, for the test that keeps the doc's table current. */
export declare const DOC: string;
export declare function equivalentMutants(root?: string): { file: string; code: string; mutators: string[]; why: string }[];
export declare function equivalentMutantsTable(root?: string): string;
export declare function documentedTable(doc?: string): string | undefined;
