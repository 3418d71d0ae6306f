/**
 * How to ask the Kubernetes integrations (`eks:call`, `eks:runJob`) for less when their output is
 * over Step Functions' limit: the query parameters and LogParameters that shrink it.
 */
export const kubeOutputTooLargeAdvice =
  "Ask for less: page a list with the 'limit' and 'continue' query parameters, narrow it with 'labelSelector' or 'fieldSelector', or fetch fewer log lines with LogParameters 'tailLines' or 'limitBytes'.";
