// Compiled with `tsc --strict` against the types openapi-typescript makes from /api/schema/
// (orders/tests/api/test_generated_clients.py): the bodies of docs/api.md type-check, and the bodies the server
// refuses do not (each `@ts-expect-error` fails the compilation if its line compiles).
import type { components, paths } from "./api";

type Schemas = components["schemas"];
type VerifyBody = NonNullable<paths["/api/packages/{id}/verify-otp/"]["post"]["requestBody"]>["content"]["application/json"];
type CommandBody = NonNullable<paths["/api/packages/{id}/commands/"]["post"]["requestBody"]>["content"]["application/json"];
type IntakeBody = paths["/api/orders/"]["post"]["requestBody"]["content"]["application/json"];

// Verify: `{otp}` or `{manualConfirm: true}`; a code beside manualConfirm is compared all the same.
export const withCode: VerifyBody = { otp: "042519" };
export const manually: VerifyBody = { manualConfirm: true };
export const codeAndFlag: VerifyBody = { otp: "042519", manualConfirm: true };
export const orderVerify: Schemas["VerifyOtpInputRequest"] = { otp: "042519" };
// @ts-expect-error neither a code nor a manual confirmation
export const neither: VerifyBody = {};
// @ts-expect-error manualConfirm false is no confirmation
export const notConfirmed: VerifyBody = { manualConfirm: false };

// Resend takes {}.
export const resend: Schemas["PackageResendInputRequest"] = {};

// Commands: each with what it needs.
export const pack: CommandBody = { command: "COMPLETE_PACKAGING_WITHOUT_SHIPMENT" };
export const deliver: CommandBody = { command: "SELF_SERVICE_PACKAGE_DELIVERY_COMMAND", otp: "042519" };
export const cancel: CommandBody = { command: "CANCEL_PACKAGE", reason: "customer called" };
// @ts-expect-error a cancel needs a reason
export const cancelWithoutReason: CommandBody = { command: "CANCEL_PACKAGE" };
// @ts-expect-error no such command
export const unknownCommand: CommandBody = { command: "SHIP" };

// Intake: deliveryType and the optional customer fields may be left out; the objects are closed.
export const intake: IntakeBody = {
  orderNumber: "WEB-100300",
  customer: { name: "Mert Aydın", phone: "0533 444 55 66", email: "mert@example.com", language: "tr" },
  store: "IST01",
  packages: [{ items: [{ sku: "SKU-1", name: "Kettle", quantity: 2 }] }],
};
export const intakeMinimal: IntakeBody = {
  orderNumber: "WEB-100301",
  customer: { name: "Mert Aydın", phone: "0533 444 55 66" },
  store: "IST01",
  packages: [{ items: [{ sku: "SKU-1", name: "Kettle", quantity: 1 }] }],
};
export const misspelt: IntakeBody = {
  ...intakeMinimal,
  // @ts-expect-error an unknown key is refused (400), so it must not compile either
  orderNo: "WEB-100302",
};

// Answers: what a POS reads after a verification, and the headers a 201 carries.
type Verified = paths["/api/packages/{id}/verify-otp/"]["post"]["responses"][200]["content"]["application/json"];
export function handedOver(answer: Verified): string {
  return `${answer.data.package.orderNumber}: ${answer.data.package.status}, order ${answer.data.order.status}`;
}
type OrderVerified = paths["/api/orders/{id}/verify-otp/"]["post"]["responses"][200]["content"]["application/json"];
export const campusBiteStatus = (answer: OrderVerified): Schemas["OrderStatusEnum"] => answer.data.order.status;
type CreatedHeaders = paths["/api/orders/"]["post"]["responses"][201]["headers"];
export const location = (headers: CreatedHeaders): string => headers.Location;
export const requestId = (headers: CreatedHeaders): string => headers["X-Request-Id"];
