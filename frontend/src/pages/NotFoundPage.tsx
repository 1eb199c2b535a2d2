import { Link } from "react-router";
import { EmptyState } from "../components/States";

export default function NotFoundPage() {
  return (
    <EmptyState title="No such page">
      <Link to="/" className="text-indigo-600 hover:underline dark:text-indigo-400">
        Back to the overview
      </Link>
    </EmptyState>
  );
}
