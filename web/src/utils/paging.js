// Every item of a keyset-paged list (`limit`, `cursor` → `items`, `next_cursor`), page by page.
export async function fetchAll(fetchPage, query = {}) {
  const items = []
  let cursor
  do {
    const r = await fetchPage({ ...query, limit: 500, cursor })
    items.push(...r.items)
    cursor = r.next_cursor
  } while (cursor)
  return items
}
