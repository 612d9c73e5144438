// Minimal types for swagger2openapi (the package ships none).
declare module "swagger2openapi" {
  interface ConvertOptions {
    patch?: boolean;
    warnOnly?: boolean;
    resolve?: boolean;
    direct?: boolean;
    text?: string;
    [key: string]: unknown;
  }
  interface ConvertResult {
    openapi: Record<string, unknown>;
  }
  export function convertObj(swagger: unknown, options: ConvertOptions): Promise<ConvertResult>;
  const s2o: { convertObj: typeof convertObj };
  export default s2o;
}
