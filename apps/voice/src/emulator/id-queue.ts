/**
 * Ids in arrival order, taken from the front. (A Set or Map used this way is slow: the entries
 * deleted at its front stay as holes that every "first entry" lookup walks over until the table
 * is rebuilt.) Entries may go stale; the reader skips those.
 */
export class IdQueue {
  #items: string[] = []
  #head = 0

  get length (): number {
    return this.#items.length - this.#head
  }

  push (id: string): void {
    this.#items.push(id)
  }

  shift (): string | undefined {
    if (this.#head >= this.#items.length) return undefined
    const id = this.#items[this.#head++]
    if (this.#head >= 1024 && this.#head * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#head)
      this.#head = 0
    }
    return id
  }

  /** Keeps only the ids `keep` approves (for dropping stale entries now and then). */
  retain (keep: (id: string) => boolean): void {
    this.#items = this.#items.slice(this.#head).filter(keep)
    this.#head = 0
  }

  clear (): void {
    this.#items = []
    this.#head = 0
  }
}
