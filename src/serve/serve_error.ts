// A request `masam serve` refuses: the HTTP status and a message for the client, sent as JSON
// (`{"error": ..., "detail": ...}`; MONAI Label's FastAPI server also puts the reason in "detail").
export class ServeError extends Error {
  override name = 'ServeError';
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}
