/**
 * How deep the local Step Functions lets JSON nest. AWS documents no depth limit for execution
 * input or task output; it answers input it cannot accept with `InvalidExecutionInput` ("The
 * provided JSON input data is invalid") and output with `InvalidOutput`. The interpreter behind
 * this stand-in (aws-local-stepfunctions) copies state data recursively and runs out of stack at
 * about 2,500 levels on Node 20 once a `Parameters` template is involved (on Node 22 already at
 * 2,000), which left such an execution
 * RUNNING forever with nothing scheduled. So deeper JSON is refused at the door, with AWS's error
 * names, instead: a clear answer where there was a hang.
 */

/**
 * Deepest nesting accepted (`{}` and `[]` are depth 1): half of where the interpreter failed on
 * Node 22, and no less than the worker's own input limit (contract §4, 1,000 levels).
 */
export const maxJsonDepth = 1_000;

/** The nesting depth of a parsed JSON value, walked without recursion. */
export const measureJsonDepth = (value: unknown): number => {
  let deepest = 0;
  const stack: { node: unknown; depth: number }[] = [{ node: value, depth: 1 }];
  while (stack.length > 0) {
    const { node, depth } = stack.pop() as { node: unknown; depth: number };
    if (node === null || typeof node !== 'object') continue;
    deepest = Math.max(deepest, depth);
    for (const child of Object.values(node)) {
      if (child !== null && typeof child === 'object')
        stack.push({ node: child, depth: depth + 1 });
    }
  }
  return deepest;
};
