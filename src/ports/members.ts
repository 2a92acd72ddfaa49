/**
 * The names of a port's methods, for the lists kept beside each port type: a custom backend's
 * object is checked against them at start-up (D280), and `satisfies Record<MethodNames<Port>, …>`
 * makes the compiler refuse a list that lacks a method the port has, or names one it has not.
 *
 * @module
 */
export type MethodNames<T> = { [K in keyof T]-?: NonNullable<T[K]> extends (...args: never[]) => unknown ? K : never }[keyof T];

/** The keys `T` requires (an optional key, such as a capability with a default, is left out). */
export type RequiredKeys<T> = { [K in keyof T]-?: object extends Pick<T, K> ? never : K }[keyof T];
