// wasi:http is not simulated: requests are sent only in the real runtime
// (tests/tests/js_connector.rs). A unit test reaching these fails loudly.
function unavailable() {
  throw new Error('wasi:http is not available in unit tests');
}

export const handle = unavailable;
export const httpErrorCode = unavailable;
export class Fields {
  static fromList() {
    unavailable();
  }
}
export class OutgoingBody {
  static finish() {
    unavailable();
  }
}
export class OutgoingRequest {
  constructor() {
    unavailable();
  }
}
export class RequestOptions {
  constructor() {
    unavailable();
  }
}
