/**
 * FRR reads its configuration a line at a time and splits each line on blanks, so a user-supplied value
 * (a password, an interface, a VRF) that holds a blank, a line break or a control character would change
 * the meaning of the file, or inject commands into it. Such values are refused before rendering.
 */

/** Printable ASCII without the space: what FRR's WORD tokens accept and what cannot split a line. */
const frrWord = /^[\x21-\x7e]+$/;

/** Why `value` cannot be written as one FRR word, or undefined when it can. */
export function frrWordProblem(value: string): string | undefined {
  if (value.length === 0) return 'is empty';
  if (!frrWord.test(value))
    return 'contains a blank, a line break or a non-ASCII character, which FRR cannot read';
  return undefined;
}

/** Linux's IFNAMSIZ is 16 bytes including the terminating NUL; VRFs are interfaces too. */
const maxInterfaceNameLength = 15;

/** Why `name` cannot be a Linux interface or VRF device name in frr.conf, or undefined when it can. */
export function interfaceNameProblem(name: string): string | undefined {
  const wordProblem = frrWordProblem(name);
  if (wordProblem) return wordProblem;
  if (name.length > maxInterfaceNameLength)
    return `is ${name.length} characters long; Linux interface names have at most ${maxInterfaceNameLength}`;
  if (name.includes('/') || name === '.' || name === '..') return 'is not a valid Linux interface name';
  return undefined;
}

/** Linux's TCP_MD5SIG_MAXKEYLEN: the kernel refuses longer TCP MD5 keys. */
const maxPasswordLength = 80;

/**
 * Why a BGP password cannot be used, or undefined when it can. The message never quotes the password.
 */
export function passwordProblem(password: string): string | undefined {
  const wordProblem = frrWordProblem(password);
  if (wordProblem) return `the password ${wordProblem}`;
  if (password.length > maxPasswordLength)
    return `the password is ${password.length} characters long; TCP MD5 keys have at most ${maxPasswordLength}`;
  return undefined;
}
